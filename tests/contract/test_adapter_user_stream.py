"""The ccxt adapter's user-data stream path against the simulator process: fills of resting orders
arrive by the listenKey stream (no REST poll while it is up and caught up); a dropped socket
loses no fill (REST books it while the stream is down, the reconnect is caught up by REST); a
trade delivered by both paths is booked once."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.integration.live import wait_for
from tradeops.domain.trading import Fill, Side
from tradeops.exchanges.user_stream import ListenKeyStream

from .sim_process import SimProcess, module_sim
from .venues import SYMBOL, SimVenue, request

DEADLINE_S = 15.0


@pytest.fixture(scope="module")
def own_sim() -> Iterator[SimProcess]:
    """A simulator of this module's own: scripted bars end the market's data (no bar to advance
    to after them), which the session's shared simulator must not inherit."""
    with module_sim() as process:
        yield process


@pytest.fixture
def sim(own_sim: SimProcess) -> SimProcess:
    own_sim.admin("reset", {})
    return own_sim


@pytest.fixture
def stream(sim) -> Iterator[ListenKeyStream]:
    live = ListenKeyStream(f"{sim.url}/api/v3", f"{sim.ws_url}/ws", sim.api_key, "binance", backoff_s=1.0)
    live.start()
    try:
        wait_for(lambda: live.healthy, DEADLINE_S, "the stream connected")
        yield live
    finally:
        live.stop()


def _resting_buy(venue: SimVenue, below: str) -> str:
    price = (venue.last() * (1 - Decimal(below))).quantize(Decimal("0.01"))
    ack = venue.exchange.submit(request(venue, "0.01", limit=price))
    assert not ack.fills
    return ack.order_id


def _trade_through(venue: SimVenue, share: str) -> None:
    last = venue.last()
    venue.sim.admin(
        "bar",
        {
            "symbol": "BTCUSDT",
            "open": float(last),
            "high": float(last),
            "low": float(last * (1 - Decimal(share))),
            "close": float(last),
            "volume": 1000,
        },
    )


def _collect(venue: SimVenue, fills: list[Fill], count: int) -> None:
    def more() -> bool:
        fills.extend(venue.exchange.on_market([], []))
        return len(fills) >= count

    wait_for(more, DEADLINE_S, f"{count} fills booked")


def _venue_trade_ids(venue: SimVenue) -> list[str]:
    return sorted(str(t["id"]) for t in venue.client.fetch_my_trades(SYMBOL, None, 1000))


def test_resting_fills_come_by_the_stream_without_rest_polls(sim, stream):
    venue = SimVenue(sim, stream=stream)
    venue.exchange._poll_interval_ms = 3_600_000  # after the catch-up poll, only the stream
    fills: list[Fill] = []
    first = _resting_buy(venue, "0.01")
    venue.exchange.on_market([], [])  # the catch-up poll of this stream generation (nothing filled)
    _trade_through(venue, "0.02")
    _collect(venue, fills, 1)
    assert [f.order_id for f in fills] == [first]
    assert fills[0].liquidity.value == "maker"  # from the report's maker flag
    assert +venue.exchange.fill_sources == {"stream": 1}  # no fill from a REST poll
    assert not venue.exchange.open_order_ids()  # the FILLED report closed it
    assert sorted(f.trade_id for f in fills) == _venue_trade_ids(venue)


def test_a_dropped_stream_loses_no_fill_and_books_none_twice(sim, stream):
    venue = SimVenue(sim, stream=stream)
    fills: list[Fill] = []
    orders = [_resting_buy(venue, "0.01"), _resting_buy(venue, "0.015")]
    assert sim.admin("drop-streams", {})["dropped"] >= 1
    wait_for(lambda: not stream.healthy, DEADLINE_S, "the client saw the socket close")
    _trade_through(venue, "0.02")  # both fill while no socket listens
    _collect(venue, fills, 2)
    assert venue.exchange.fill_sources["poll"] == 2  # REST while the stream was down
    wait_for(lambda: stream.healthy and stream.health.reconnects == 1, DEADLINE_S, "the stream reconnected")
    third = _resting_buy(venue, "0.01")
    _trade_through(venue, "0.02")
    _collect(venue, fills, 3)
    assert venue.exchange.requests.stream_reconnects == 1  # exported as a metric
    assert sorted(f.order_id for f in fills) == sorted([*orders, third])
    assert sorted(f.trade_id for f in fills) == _venue_trade_ids(venue)  # each venue trade once


def test_a_trade_from_both_the_stream_and_a_poll_is_booked_once(sim, stream):
    venue = SimVenue(sim, stream=stream)
    _resting_buy(venue, "0.01")
    seen = stream.health.last_event_ms
    _trade_through(venue, "0.02")
    wait_for(lambda: stream.health.last_event_ms > seen, DEADLINE_S, "the trade's report queued")
    polled = venue.exchange.poll()  # the reconcile loop's poll books it by REST first
    streamed = list(venue.exchange.on_market([], []))  # then the queued report brings it again
    assert len(polled) == 1 and streamed == []
    assert [f.trade_id for f in polled] == _venue_trade_ids(venue)


def test_the_stream_reports_sells_with_the_quote_fee(sim, stream):
    venue = SimVenue(sim, stream=stream)
    venue.exchange.on_market([], [])
    price = (venue.last() * Decimal("1.01")).quantize(Decimal("0.01"))
    ack = venue.exchange.submit(request(venue, "0.01", side=Side.SELL, limit=price))
    venue.exchange.on_market([], [])
    last = venue.last()
    sim.admin(
        "bar",
        {
            "symbol": "BTCUSDT",
            "open": float(last),
            "high": float(price * Decimal("1.01")),
            "low": float(last),
            "close": float(last),
            "volume": 1000,
        },
    )
    fills: list[Fill] = []
    _collect(venue, fills, 1)
    (fill,) = fills
    assert (fill.order_id, fill.fee_asset, fill.price) == (ack.order_id, "USDT", price)
    assert fill.fee == (fill.quantity * fill.price * Decimal("0.001")).quantize(Decimal("0.00000001"))
