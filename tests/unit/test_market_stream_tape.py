"""What the websocket candle stream vouches for (no socket: the rows ccxt.pro would hand it are
fed in directly): closed candles once the next one opens, nothing before the connection's first
candle, nothing across a skipped candle, nothing while down or silent; and the config switch."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tradeops.config.market_data import MarketDataConfig
from tradeops.config.models import EnvironmentConfig, VenueConfig
from tradeops.domain.errors import UserInputError
from tradeops.exchanges.ccxt_client import market_stream_base
from tradeops.exchanges.ccxt_market_stream import CandleStream
from tradeops.runtime.stats import VenueRequestStats

STEP = 60_000
T0 = 1_700_000_040_000 // STEP * STEP


class Clock:
    now = T0 + 10 * STEP

    def __call__(self) -> int:
        return self.now


def _row(ts: int, close: float = 100.0) -> list[float]:
    return [ts, 100.0, 101.0, 99.0, close, 5.0]


def _connected(stream: CandleStream, clock: Clock) -> None:
    stream._connected()
    stream.health.last_message_ms = clock.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stream(clock: Clock) -> CandleStream:
    live = CandleStream(
        lambda: None, "binance", ["BTC/USDT"], "1m", requests=VenueRequestStats(), clock_ms=clock
    )
    _connected(live, clock)
    return live


def test_a_candle_is_closed_when_the_next_one_opens_with_its_last_values(stream):
    stream._on_rows("BTC/USDT", [_row(T0, 100.0)])
    assert stream.closed_since("BTC/USDT", T0) == []  # in progress: not closed yet
    stream._on_rows("BTC/USDT", [_row(T0, 100.5), _row(T0 + STEP)])  # final update, then the next
    (bar,) = stream.closed_since("BTC/USDT", T0)
    assert (bar.ts, bar.close, bar.venue, bar.symbol) == (T0, 100.5, "binance", "BTC/USDT")
    stream._on_rows("BTC/USDT", [_row(T0, 1.0)])  # a late update of a closed candle changes nothing
    assert [b.close for b in stream.closed_since("BTC/USDT", T0)] == [100.5]


def test_the_stream_vouches_only_from_the_connections_first_candle(stream):
    stream._on_rows("BTC/USDT", [_row(T0 + 2 * STEP), _row(T0 + 3 * STEP)])
    assert stream.closed_since("BTC/USDT", T0) is None  # earlier candles: REST must answer
    assert stream.closed_since("BTC/USDT", None) is None  # history: REST
    assert [b.ts for b in stream.closed_since("BTC/USDT", T0 + 2 * STEP)] == [T0 + 2 * STEP]


def test_a_skipped_candle_hands_the_gap_to_rest(stream):
    stream._on_rows("BTC/USDT", [_row(T0), _row(T0 + STEP), _row(T0 + 4 * STEP)])
    assert stream.closed_since("BTC/USDT", T0 + STEP) is None  # T0+STEP.. T0+3 STEP never closed here
    assert stream.closed_since("BTC/USDT", T0 + 4 * STEP) == []
    stream._on_rows("BTC/USDT", [_row(T0 + 5 * STEP)])
    assert [b.ts for b in stream.closed_since("BTC/USDT", T0 + 4 * STEP)] == [T0 + 4 * STEP]


def test_down_or_silent_the_stream_vouches_for_nothing_and_a_reconnect_starts_afresh(stream, clock):
    stream._on_rows("BTC/USDT", [_row(T0), _row(T0 + STEP)])
    clock.now += stream.silence_ms + 1
    assert stream.closed_since("BTC/USDT", T0) is None  # connected but silent
    stream._lost(delivered=True)
    assert stream.closed_since("BTC/USDT", T0) is None and not stream.ready
    _connected(stream, clock)
    assert stream.health.reconnects == 1 and stream.requests.market_stream_reconnects == 1
    assert stream.closed_since("BTC/USDT", T0) is None  # this connection has seen nothing yet
    stream._on_rows("BTC/USDT", [_row(T0 + 3 * STEP)])
    assert stream.ready and stream.closed_since("BTC/USDT", T0 + STEP) is None


def test_websocket_market_data_is_off_unless_the_environment_says_so():
    env = EnvironmentConfig(venues={"binance": {"ccxt_id": "binance"}})
    assert env.market_data.websocket is False
    with pytest.raises(ValidationError):
        EnvironmentConfig(venues={"binance": {"ccxt_id": "binance"}}, market_data={"websockets": True})
    with pytest.raises(ValidationError):
        MarketDataConfig(websocket=True, max_failures=0)


def test_a_simulated_venue_must_say_where_its_streams_are():
    sim = VenueConfig(ccxt_id="binance", url="http://127.0.0.1:8765")
    with pytest.raises(UserInputError, match="market_stream_url"):
        market_stream_base("binance", sim)  # never a real venue's candles for a simulated one
    with_user_stream = sim.model_copy(update={"user_stream_url": "ws://127.0.0.1:9765/ws"})
    assert market_stream_base("binance", with_user_stream) == "ws://127.0.0.1:9765/ws"
    real = VenueConfig(ccxt_id="binance", sandbox=True)
    assert market_stream_base("binance", real) is None  # ccxt's own (the testnet's) stream URL
