"""One behavioural contract, two venues: the paper venue, and a real unmodified ccxt.binance
client talking to the exchange simulator process by URL override."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradeops.domain.events import DenialReason
from tradeops.domain.money import ZERO, quantize_down
from tradeops.domain.trading import InstrumentLimits, Liquidity, Side, TradingState
from tradeops.exchanges.errors import OrderRejected, PrecisionDenied
from tradeops.risk.gate import Exposure, Limits
from tradeops.runtime.egress import OrderEgress
from tradeops.runtime.fakes import RecordingSink
from tradeops.runtime.stats import RuntimeStats

from .venues import SYMBOL, request

TICK = Decimal("0.01")


def _below(price: Decimal, share: str) -> Decimal:
    return (price * (1 - Decimal(share))).quantize(TICK)


def test_market_order_fills_completely_as_taker_with_its_ids(venue):
    order = request(venue, "0.01")
    ack = venue.exchange.submit(order)
    fills = [*ack.fills, *venue.bar(venue.last(), venue.last())]
    assert ack.order_id
    assert sum(f.quantity for f in fills) == Decimal("0.01")
    assert {(f.order_id, f.client_order_id) for f in fills} == {(ack.order_id, order.client_order_id)}
    assert all(f.liquidity is Liquidity.TAKER and f.side is Side.BUY and f.fee > 0 for f in fills)
    assert venue.exchange.open_order_ids() == []
    other = venue.exchange.submit(request(venue, "0.01"))
    assert other.order_id != ack.order_id


def test_quantity_is_rounded_down_to_the_step(venue):
    ack = venue.exchange.submit(request(venue, "0.0123456"))
    fills = [*ack.fills, *venue.bar(venue.last(), venue.last())]
    assert sum(f.quantity for f in fills) == Decimal("0.01234")


def test_resting_limit_fills_as_maker_once_the_market_trades_through(venue):
    last = venue.last()
    limit = _below(last, "0.01")
    ack = venue.exchange.submit(request(venue, "0.01", limit=limit))
    assert ack.fills == () and ack.open_quantity == Decimal("0.01")
    assert list(venue.exchange.open_order_ids()) == [ack.order_id]
    assert venue.exchange.open_quantity("daily_trend", "binance", SYMBOL) == Decimal("0.01")
    assert venue.bar(_below(last, "0.005"), last) == []  # not through the limit yet
    fills = venue.bar(limit - 1, last)
    assert [(f.quantity, f.price, f.liquidity) for f in fills] == [(Decimal("0.01"), limit, Liquidity.MAKER)]
    assert fills[0].order_id == ack.order_id
    assert venue.exchange.open_order_ids() == []
    assert venue.bar(limit - 1, last) == []  # booked exactly once


def test_partial_fills_add_up_to_the_order(venue):
    last = venue.last()
    limit = _below(last, "0.01")
    venue.partial_fills(Decimal("0.25"), Decimal("0.01"))
    ack = venue.exchange.submit(request(venue, "0.01", limit=limit))
    first = venue.bar(limit - 1, last)
    assert [f.quantity for f in first] == [Decimal("0.0025")]
    assert venue.exchange.open_quantity("daily_trend", "binance", SYMBOL) == Decimal("0.0075")
    rest = [f for _ in range(3) for f in venue.bar(limit - 1, last)]
    assert [f.quantity for f in rest] == [Decimal("0.0025")] * 3
    assert {f.order_id for f in [*first, *rest]} == {ack.order_id}
    assert venue.exchange.open_order_ids() == []
    assert venue.exchange.open_quantity("daily_trend", "binance", SYMBOL) == ZERO


def test_cancel_stops_a_resting_order(venue):
    last = venue.last()
    limit = _below(last, "0.01")
    ack = venue.exchange.submit(request(venue, "0.01", limit=limit))
    assert venue.exchange.cancel(ack.order_id) is True
    assert venue.exchange.cancel(ack.order_id) is False
    assert venue.bar(limit - 1, last) == []
    assert venue.exchange.open_order_ids() == []
    assert venue.exchange.open_quantity("daily_trend", "binance", SYMBOL) == ZERO


def test_cancel_all_cancels_only_that_strategy(venue):
    last = venue.last()
    first = venue.exchange.submit(request(venue, "0.01", limit=_below(last, "0.01")))
    venue.exchange.submit(request(venue, "0.01", limit=_below(last, "0.02")))
    assert venue.exchange.cancel_all("mean_reversion") == 0
    assert first.order_id in venue.exchange.open_order_ids()
    assert venue.exchange.cancel_all("daily_trend") == 2
    assert venue.exchange.open_order_ids() == []


@pytest.mark.parametrize(
    ("quantity", "reason"),
    [("0.000004", DenialReason.MIN_QUANTITY), ("0.0001", DenialReason.MIN_NOTIONAL)],
)
def test_below_minimum_orders_are_denied_before_they_leave(venue, quantity, reason):
    with pytest.raises(PrecisionDenied) as denied:
        venue.exchange.submit(request(venue, quantity))
    assert denied.value.reason is reason
    assert venue.exchange.open_order_ids() == []
    assert venue.venue_orders() in (None, 0)


def test_a_client_order_id_is_used_once(venue):
    last = venue.last()
    order = request(venue, "0.01", limit=_below(last, "0.01"))
    ack = venue.exchange.submit(order)
    with pytest.raises(OrderRejected, match="duplicate client order id"):
        venue.exchange.submit(order)
    assert list(venue.exchange.open_order_ids()) == [ack.order_id]
    assert venue.venue_orders() in (None, 1)


def test_each_venue_states_its_limits_and_an_order_below_them_is_denied_before_it_leaves(venue):
    """The engine sizes and gates orders with what the venue states (paper: its config; ccxt:
    load_markets), so an order under the stated minimum is denied at the gate with its reason
    code and never reaches the venue, whichever venue it is."""
    limits = venue.exchange.instrument_limits("binance", SYMBOL)
    assert limits is not None
    assert (limits.step, limits.min_quantity) == (Decimal("0.00001"), Decimal("0.00001"))
    assert limits.min_notional > 0 and limits.tick >= 0
    assert venue.exchange.instrument_limits("kraken", SYMBOL) is None  # not this venue's
    price = venue.last()
    too_small = {
        DenialReason.MIN_QUANTITY: limits.min_quantity / 2,
        DenialReason.MIN_NOTIONAL: quantize_down(limits.min_notional / price / 2, limits.step),
    }
    for reason, quantity in too_small.items():
        assert quantity > 0
        sink = RecordingSink()
        egress = _egress(venue.exchange, sink, limits)
        routed = egress.submit_group([request(venue, str(quantity))])
        assert routed[0].denial is not None and routed[0].denial.reason is reason
        assert [r.metadata["reason"] for r in sink.of_kind("risk_decision", "denied")] == [reason.value]
        assert sink.of_kind("order") == []
        with pytest.raises(PrecisionDenied) as denied:  # and the venue adapter would refuse it too
            venue.exchange.submit(request(venue, str(quantity)))
        assert denied.value.reason is reason
    assert venue.exchange.open_order_ids() == []
    assert venue.venue_orders() in (None, 0)


def _egress(exchange, sink: RecordingSink, venue: InstrumentLimits) -> OrderEgress:
    """The egress point as the engine builds it, with the venue's stated minimums in the limits."""
    limits = Limits(1.0, 1.0, 5, 0.5, 0.5, 1.0, venue.min_quantity, venue.min_notional)
    exposure = Exposure(Decimal(100_000), Decimal(100_000), ZERO, ZERO, ZERO, 0, ZERO)
    stats = RuntimeStats(environment="contract")
    stats.strategy("daily_trend", "balanced")
    return OrderEgress(
        exchange,
        sink,
        stats,
        None,
        limits=lambda _o: limits,
        exposure=lambda _o: exposure,
        states=lambda _s: (TradingState.ACTIVE, TradingState.ACTIVE),
        position=lambda _o: exposure.position_quantity,
    )
