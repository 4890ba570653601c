"""Live market data by websocket against the simulator process, through the real ccxt.pro client
and the runtime's LiveMarket: closed bars arrive by the stream with no REST request; a stream
dropped (and held down) mid-run is reconnected and the bars it missed are caught up by REST, none
lost, none doubled; a stream that never connects falls back to REST polling."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.live import wait_for
from tradeops.bootstrap.live import market_stream
from tradeops.config.market_data import MarketDataConfig
from tradeops.config.models import EnvironmentConfig, VenueConfig
from tradeops.domain.market import Bar
from tradeops.exchanges.ccxt_client import build_ccxt_client
from tradeops.exchanges.ccxt_market import CcxtMarketData
from tradeops.exchanges.ccxt_market_stream import CandleStream, StreamedMarketData
from tradeops.marketdata.series_store import SeriesStore
from tradeops.runtime.live_market import LiveMarket
from tradeops.runtime.stats import RuntimeStats, VenueRequestStats

from .sim_process import MARKET_SYMBOLS, SimProcess, module_sim

SYMBOLS = MARKET_SYMBOLS
STEP_MS = 60_000
DEADLINE_S = 20.0


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    with module_sim("--interval", "1m", "--symbols", ",".join(SYMBOLS)) as process:
        yield process


@dataclass
class Feed:
    sim: SimProcess
    stream: CandleStream
    source: StreamedMarketData
    market: LiveMarket
    store: SeriesStore
    requests: VenueRequestStats
    rest: Any

    def poll(self) -> list[Bar]:
        return self.market.advance_to(int(time.time() * 1000))

    def closes(self, symbol: str) -> list[tuple[int, float, float, float, float, float]]:
        ts, columns = self.store.loaded("binance", symbol)
        fields = ("open", "high", "low", "close", "volume")
        return [(int(t), *(float(columns[f][i]) for f in fields)) for i, t in enumerate(ts)]

    def venue_rows(self, symbol: str, since: int) -> list[tuple[int, float, float, float, float, float]]:
        rows = self.rest.fetch_ohlcv(symbol, "1m", since, 1000)[:-1]  # the last one is in progress
        return [tuple(r) for r in rows]

    def rest_requests(self) -> int:
        return int(self.sim.admin("state")["requests"])

    def open_ts(self) -> int:
        return int(self.rest.fetch_ohlcv(SYMBOLS[0], "1m", None, 1)[-1][0])


def _feed(sim: SimProcess, stream_url: str, data: MarketDataConfig) -> Feed:
    venue = VenueConfig(ccxt_id="binance", url=sim.url, market_stream_url=stream_url)
    env = EnvironmentConfig(venues={"binance": venue}, market_data=data)
    requests = VenueRequestStats()
    stream = market_stream(env, "binance", list(SYMBOLS), "1m", requests)
    rest_client = build_ccxt_client("binance", venue, {})
    source = StreamedMarketData(CcxtMarketData(rest_client, "binance"), stream)
    store = SeriesStore()
    market = LiveMarket(
        store,
        {"binance": source},
        [("binance", s) for s in SYMBOLS],
        "1m",
        STEP_MS,
        lambda: int(time.time() * 1000),
        RuntimeStats("contract"),
        poll_ms=0,
    )
    market.warm(20)
    return Feed(sim, stream, source, market, store, requests, build_ccxt_client("binance", venue, {}))


@pytest.fixture
def feed(sim) -> Iterator[Feed]:
    data = MarketDataConfig(websocket=True, reconnect_backoff_ms=50, max_failures=50)
    live = _feed(sim, f"{sim.ws_url}/ws", data)
    try:
        wait_for(lambda: live.stream.ready, DEADLINE_S, "the market stream connected, every symbol seen")
        yield live
    finally:
        live.stream.stop()
        sim.admin("drop-streams", {"down_seconds": 0})


def _collect(feed: Feed, closed_through: int) -> None:
    """Poll until every symbol holds the closed candle that opened at `closed_through`."""

    def done() -> bool:
        feed.poll()
        return all((b := feed.store.last_bar("binance", s)) and b.ts >= closed_through for s in SYMBOLS)

    wait_for(done, DEADLINE_S, f"the candle of {closed_through} closed on every symbol")


def _assert_every_bar_once(feed: Feed) -> None:
    for symbol in SYMBOLS:
        held = feed.closes(symbol)
        stamps = [row[0] for row in held]
        assert stamps == list(range(stamps[0], stamps[-1] + STEP_MS, STEP_MS)), "a bar lost or doubled"
        assert held == feed.venue_rows(symbol, stamps[0])[: len(held)]  # the venue's own candles


def test_closed_bars_arrive_by_the_websocket_without_rest_requests(feed):
    _collect(feed, feed.open_ts() - STEP_MS)  # level with the stream (one REST catch-up at most)
    before, served = feed.rest_requests(), feed.source.served["rest"]
    opened = feed.open_ts()
    feed.sim.admin("advance", {"bars": 3})
    _collect(feed, opened + 2 * STEP_MS)
    assert feed.source.served["rest"] == served and feed.source.served["stream"] > 0, feed.source.served
    assert feed.rest_requests() == before + 1  # only the test's own open_ts() above
    _assert_every_bar_once(feed)


def test_a_dropped_stream_is_caught_up_by_rest_with_no_bar_lost_or_doubled(feed):
    _collect(feed, feed.open_ts() - STEP_MS)
    feed.sim.admin("advance", {"bars": 2})
    assert feed.sim.admin("drop-streams", {"down_seconds": 1.0})["dropped"] >= 1
    wait_for(lambda: not feed.stream.health.connected, DEADLINE_S, "the client saw the socket close")
    opened = feed.open_ts()
    feed.sim.admin("advance", {"bars": 3})  # three bars close while no socket listens
    wait_for(lambda: feed.stream.ready, DEADLINE_S, "the stream reconnected")
    served = feed.source.served["rest"]
    _collect(feed, opened + 2 * STEP_MS)
    assert feed.source.served["rest"] > served  # the missed bars came by REST
    assert feed.stream.health.reconnects == 1
    assert feed.requests.market_stream_reconnects == 1  # exported as the reconnect metric
    before, opened = feed.rest_requests(), feed.open_ts()
    feed.sim.admin("advance", {"bars": 1})  # and after the catch-up, the stream again
    _collect(feed, opened)
    assert feed.rest_requests() == before + 1
    _assert_every_bar_once(feed)


def test_a_stream_that_never_connects_falls_back_to_rest_polling(sim):
    data = MarketDataConfig(websocket=True, reconnect_backoff_ms=10, max_failures=2)
    live = _feed(sim, "ws://127.0.0.1:9/ws", data)  # nothing listens there
    try:
        wait_for(lambda: live.stream.health.fallen_back, DEADLINE_S, "the stream giving up")
        opened = live.open_ts()
        sim.admin("advance", {"bars": 2})
        _collect(live, opened + STEP_MS)
    finally:
        live.stream.stop()
    assert live.stream.health.generation == 0 and live.source.served["stream"] == 0
    _assert_every_bar_once(live)
