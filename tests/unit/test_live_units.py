"""Live-path pieces without a venue: fees in the base asset, the watchdog's triggers, the reconcile
loop failing closed, acknowledgement fills and unknown outcomes at the egress."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradeops.domain.errors import Skipped, Temporary, UnknownOutcome
from tradeops.domain.events import DenialReason
from tradeops.domain.trading import Fill, Liquidity, OrderRequest, Side, TradingState
from tradeops.runtime.portfolio import Portfolio
from tradeops.runtime.venue_reconcile import OrderView
from tradeops.runtime.watchdog import WatchdogInputs, WatchdogLimits, trigger

D = Decimal


def _fill(side: Side, qty: str, price: str, fee: str, fee_asset: str, trade_id: str = "1") -> Fill:
    return Fill(
        "o1",
        "s-1-1",
        "s",
        "binance",
        "BTC/USDT",
        side,
        D(qty),
        D(price),
        D(fee),
        fee_asset,
        Liquidity.TAKER,
        1,
        trade_id,
    )


def test_a_buy_fee_in_the_base_asset_shrinks_the_position_not_the_cash():
    book = Portfolio("USDT", D("1000"))
    pos = book.apply_fill(_fill(Side.BUY, "1", "100", "0.001", "BTC"))
    assert pos.quantity == D("0.999")
    assert book.cash == D("900")
    assert book.books["s"].fees == D("0.100")  # valued at the fill price
    book.mark("binance", "BTC/USDT", 100.0)
    assert book.equity() == D("999.900")


def test_a_sell_fee_in_the_quote_asset_comes_off_the_cash():
    book = Portfolio("USDT", D("1000"))
    book.apply_fill(_fill(Side.BUY, "1", "100", "0", "USDT"))
    book.apply_fill(_fill(Side.SELL, "1", "110", "0.11", "USDT", "2"))
    assert book.cash == D("1009.89")
    assert book.position("s", "binance", "BTC/USDT").quantity == 0


@given(
    qty=st.decimals("0.001", "10", places=3),
    price=st.decimals("1", "100000", places=2),
    rate=st.sampled_from([D("0"), D("0.001"), D("0.00075")]),
)
def test_equity_after_a_base_fee_buy_is_the_start_less_the_fee_value(qty, price, rate):
    book = Portfolio("USDT", D("1000000"))
    fill = _fill(Side.BUY, str(qty), str(price), str(qty * rate), "BTC")
    book.apply_fill(fill)
    book.mark("binance", "BTC/USDT", float(price))
    assert book.equity() == D("1000000") - fill.fee_value


LIMITS = WatchdogLimits(confirm_ms=1_000, stale_ms=3_000)


def test_watchdog_acts_on_an_unconfirmed_kill_switch_only_after_the_confirm_window():
    early = WatchdogInputs(1_500, True, 1_000, False, 1_400)
    late = WatchdogInputs(2_000, True, 1_000, False, 1_900)
    confirmed = WatchdogInputs(5_000, True, 1_000, True, 4_900)
    assert trigger(early, LIMITS) is None
    assert trigger(late, LIMITS) == "kill_switch_unconfirmed"
    assert trigger(confirmed, LIMITS) is None


def test_watchdog_acts_on_a_stale_heartbeat_but_not_without_one():
    assert trigger(WatchdogInputs(10_000, False, None, False, 6_999), LIMITS) == "heartbeat_stale"
    assert trigger(WatchdogInputs(10_000, False, None, False, 7_001), LIMITS) is None
    assert trigger(WatchdogInputs(10_000, False, None, False, None), LIMITS) is None


class _Venues:
    """A venue side for the reconcile loop: what the test says the venue holds."""

    def __init__(self) -> None:
        self.venue_orders: list[OrderView] = []
        self.balances: dict[tuple[str, str], Decimal] = {("binance", "USDT"): D("100")}
        self.fail = False

    def poll(self) -> list[Fill]:
        return []

    def resolve(self, row):
        return None

    def local_open_orders(self) -> list[OrderView]:
        return []

    def venue_open_orders(self) -> list[OrderView]:
        if self.fail:
            from tradeops.exchanges.errors import ExchangeTemporary

            raise ExchangeTemporary("venue down")
        return list(self.venue_orders)

    def venue_balances(self) -> dict[tuple[str, str], Decimal]:
        return dict(self.balances)


def _engine():
    from tests.unit.test_engine import build

    return build()[0]


def test_reconcile_loop_reduces_on_a_difference_and_lifts_only_its_own_restriction():
    from tradeops.runtime.live_reconcile import ReconcileLoop

    engine = _engine()
    venues = _Venues()
    loop = ReconcileLoop(engine, venues, lambda: {("binance", "USDT"): D("100")}, 1_000)
    assert loop.run(0).clean and engine.global_state is TradingState.ACTIVE
    name = next(iter(engine.slots))
    venues.venue_orders = [OrderView(f"{name}-5-9", "binance", "BTC/USDT", Side.BUY, D("1"), "v1")]
    report = loop.run(1_000)
    assert not report.clean and engine.strategy_states[name] is TradingState.REDUCING
    assert engine.stats.reconcile_diffs == 1
    venues.venue_orders = []
    venues.balances[("binance", "USDT")] = D("90")  # a balance nobody booked: the account reduces
    loop.run(2_000)
    assert engine.strategy_states[name] is TradingState.ACTIVE
    assert engine.global_state is TradingState.REDUCING
    venues.fail = True  # cannot compare: stays reducing (fail closed)
    assert loop.run(3_000) is None and engine.global_state is TradingState.REDUCING
    venues.fail = False
    venues.balances[("binance", "USDT")] = D("100")
    assert loop.run(4_000).clean and engine.global_state is TradingState.ACTIVE


def _egress(engine, exchange, sink):
    """The engine's order path (gate off) in front of `exchange`, recording into `sink`."""
    from tradeops.runtime.egress import OrderEgress

    return OrderEgress(
        exchange,
        sink,
        engine.stats,
        None,
        engine._limits,
        engine._exposure,  # type: ignore[arg-type]
        lambda s: (TradingState.ACTIVE, TradingState.ACTIVE),
        engine._position_quantity,
    )


def test_an_unknown_outcome_blocks_new_orders_on_that_symbol_only():
    engine = _engine()

    class Unsure:
        requires_durable_intent = True

        def submit(self, order):
            raise UnknownOutcome("no answer")

    egress = _egress(engine, Unsure(), engine.sink)
    name = next(iter(engine.slots))
    engine.portfolio.mark("binance", "BTC/USDT", 100.0)
    engine.portfolio.mark("binance", "ETH/USDT", 10.0)

    def order(symbol: str, n: int) -> OrderRequest:
        return OrderRequest(f"{name}-1-{n}", name, "binance", symbol, Side.BUY, D("1"), D("100"), 1)

    assert egress.submit_group([order("BTC/USDT", 1)])[0].ack is None
    assert list(egress.unresolved) == [f"{name}-1-1"]
    denied = egress.check(order("BTC/USDT", 2))
    assert denied is not None and denied.reason is DenialReason.OUTCOME_UNKNOWN
    other = egress.check(order("ETH/USDT", 3))
    assert other is None or other.reason is not DenialReason.OUTCOME_UNKNOWN


@pytest.mark.parametrize(
    ("error", "kind"), [(Temporary("venue busy"), "temporary"), (Skipped("no quote"), "rejected")]
)
def test_a_temporary_or_rejecting_venue_error_is_recorded_not_raised(error, kind):
    """Both the pure and the compiled egress (`make native`) record it as a failed order."""
    from tradeops.runtime.fakes import RecordingSink

    engine = _engine()

    class Refusing:
        requires_durable_intent = False

        def submit(self, order):
            raise error

    sink = RecordingSink()
    egress = _egress(engine, Refusing(), sink)
    name = next(iter(engine.slots))
    engine.portfolio.mark("binance", "BTC/USDT", 100.0)
    order = OrderRequest(f"{name}-1-1", name, "binance", "BTC/USDT", Side.BUY, D("1"), D("100"), 1)
    [routed] = egress.submit_group([order])
    assert routed.ack is None and routed.denial is None
    failed = sink.records[-1]
    assert (failed.kind, failed.status) == ("order", "failed")
    assert failed.metadata["error"] == kind and failed.metadata["detail"] == str(error)
    assert engine.stats.exchange_errors[("binance", kind)] == 1
