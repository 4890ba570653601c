"""The per-order hot path's shortcuts give what the plain computation gives (issue 17): the gate
with its limits converted once and the exposure read only when needed, the memoised order-id
seconds, the paper venue's kept request and the decision record's own initialiser."""

from __future__ import annotations

import dataclasses
import math
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tests.property.test_risk_gate_invariants import scenarios
from tradeops.domain import events
from tradeops.domain.events import DenialReason
from tradeops.domain.money import to_decimal
from tradeops.domain.order_ids import SINCE_S, base36, client_order_id
from tradeops.domain.trading import OrderRequest, Side, TradingState
from tradeops.exchanges.paper.exchange import _same_decimal
from tradeops.risk.gate import Denial, Exposure, Limits, check_order, check_order_deferred, is_reducing

states = st.sampled_from(list(TradingState))


def reference_check(
    order: OrderRequest, limits: Limits, exposure: Exposure, strategy: TradingState, account: TradingState
) -> Denial | None:
    """The gate as it was: every float limit converted where a check reads it, in the same order."""
    reducing = is_reducing(order, exposure.position_quantity)
    for state, scope in ((account, "account"), (strategy, order.strategy)):
        if state is TradingState.HALTED:
            return Denial(DenialReason.TRADING_HALTED, f"{scope} trading is halted")
        if state is TradingState.REDUCING and not reducing:
            return Denial(DenialReason.REDUCING_ONLY, f"{scope} may only reduce positions")
    if order.quantity < limits.min_quantity or order.quantity <= 0:
        return Denial(DenialReason.MIN_QUANTITY, f"quantity {order.quantity} < {limits.min_quantity}")
    if order.notional < limits.min_notional:
        return Denial(DenialReason.MIN_NOTIONAL, f"notional {order.notional:.2f} < {limits.min_notional}")
    return None if reducing else reference_limits(order, limits, exposure)


def reference_limits(order: OrderRequest, limits: Limits, exposure: Exposure) -> Denial | None:
    equity, price, old_qty = exposure.equity, order.reference_price, exposure.position_quantity
    if equity <= 0:
        return Denial(DenialReason.INSUFFICIENT_BALANCE, "account equity is not positive")
    new_qty = old_qty + order.quantity * order.side.sign
    old_notional, new_notional = abs(old_qty) * price, abs(new_qty) * price
    budget = to_decimal(limits.allocation) * equity
    after = exposure.strategy_exposure - old_notional + new_notional
    if after > budget:
        detail = f"exposure {after:.2f} > budget {budget:.2f} (allocation {limits.allocation:g})"
        return Denial(DenialReason.ALLOCATION_BUDGET, detail)
    cap = to_decimal(limits.max_position_pct) * equity
    if new_notional > cap:
        return Denial(DenialReason.MAX_POSITION, f"position {new_notional:.2f} > {cap:.2f}")
    if old_qty == 0 and exposure.open_positions >= limits.max_open_positions:
        return Denial(DenialReason.MAX_OPEN_POSITIONS, f"{exposure.open_positions} positions open")
    daily = to_decimal(limits.max_daily_loss_pct) * budget
    if exposure.strategy_day_pnl < 0 and -exposure.strategy_day_pnl >= daily:
        return Denial(DenialReason.DAILY_LOSS, f"day loss {-exposure.strategy_day_pnl:.2f} >= {daily:.2f}")
    peak = exposure.peak_equity
    if peak > 0 and (peak - equity) / peak >= to_decimal(limits.hard_drawdown_pct):
        return Denial(DenialReason.HARD_DRAWDOWN, f"drawdown {(peak - equity) / peak:.4f} from peak")
    gross = exposure.gross_exposure - old_notional + new_notional
    if gross > to_decimal(limits.max_leverage) * equity:
        return Denial(DenialReason.MAX_LEVERAGE, f"gross {gross:.2f} > {limits.max_leverage:g}x equity")
    return None


@given(scenarios(), states, states)
def test_the_gate_gives_the_reference_verdict_and_text(scenario, strategy, account):
    order, limits, exposure = scenario
    want = reference_check(order, limits, exposure, strategy, account)
    assert check_order(order, limits, exposure, strategy, account) == want
    asked: list[bool] = []

    def lazily() -> Exposure:
        asked.append(True)
        return exposure

    got = check_order_deferred(order, limits, exposure.position_quantity, lazily, strategy, account)
    assert got == want
    if want is not None and want.reason in (DenialReason.MIN_QUANTITY, DenialReason.TRADING_HALTED):
        assert not asked  # decided before the exposure limits: the figures were never built
    if want is None and is_reducing(order, exposure.position_quantity):
        assert not asked


@given(scenarios(), st.sampled_from([0.0, -0.0, 0.1, 1, 0.30000000000000004]))
def test_limits_convert_each_float_as_to_decimal_does(scenario, value):
    _order, limits, _exposure = scenario
    changed = dataclasses.replace(limits, allocation=value, max_leverage=value)
    # Of the value as stored: compiled (make native), a `float` field stores the int 1 as 1.0.
    assert changed.exact[0].as_tuple() == to_decimal(changed.allocation).as_tuple()  # -0.0 stays -0.0
    assert changed.exact[4].as_tuple() == to_decimal(changed.max_leverage).as_tuple()
    assert changed.allocation == value and math.copysign(1, changed.allocation) == math.copysign(1, value)
    assert changed.exact[1] == to_decimal(limits.max_position_pct)
    assert changed == dataclasses.replace(changed)


@given(
    st.lists(st.tuples(st.integers(0, 4_000_000_000_000), st.integers(0, 36**6)), min_size=1, max_size=20),
    st.sampled_from(["", "e1-", "ezz-"]),
)
def test_order_ids_match_the_formula_whatever_the_call_order(calls, tag):
    for now_ms, seq in calls:
        want = f"dt-{tag}{base36(max(0, now_ms // 1000 - SINCE_S))}-{base36(seq)}"
        assert client_order_id("dt", tag, now_ms, seq) == want


quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(1000), places=6)


@given(quantities, st.integers(0, 4))
def test_same_decimal_is_equal_value_and_equal_text(value, zeros):
    padded = Decimal(f"{value:f}{'0' * zeros}" if "." in f"{value:f}" else f"{value:f}.{'0' * zeros}")
    assert padded == value
    assert _same_decimal(padded, value) == (padded.as_tuple() == value.as_tuple())
    assert _same_decimal(-padded, -value) == _same_decimal(padded, value)
    assert not _same_decimal(Decimal("-0"), Decimal("0"))


texts = st.text(min_size=1, max_size=8)


@given(texts, texts, st.integers(), st.dictionaries(texts, st.integers(), max_size=3))
def test_decision_records_build_as_the_generated_initialiser_would(kind, status, ts, artefacts):
    record = events.DecisionRecord(kind, status, ts, artefacts)
    assert (record.kind, record.status, record.ts, record.artefacts) == (kind, status, ts, artefacts)
    assert (record.metadata, record.tags, record.stage) == ({}, (), None)
    assert record.metadata is not events.DecisionRecord(kind, status, ts).metadata  # a fresh default
    again = dataclasses.replace(record, stage="paper", tags=("t",))
    assert again == events.DecisionRecord(kind, status, ts, artefacts, {}, ("t",), "paper")
    try:
        record.kind = "other"  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("DecisionRecord is frozen")


def test_an_order_shares_its_metadata_text_between_its_entries():
    order = OrderRequest("c1", "dt", "binance", "BTC/USDT", Side.SELL, Decimal("0.50"), Decimal("101.10"), 5)
    meta = events.order_metadata(order)
    assert events.order_accepted(order, dict(meta)) == events.order_accepted(order)
    assert events.order_submitted(order, "p-1", meta) == events.order_submitted(order, "p-1")
    assert meta == {
        "side": "sell",
        "quantity": "0.5",
        "reference_price": "101.1",
        "reduce_only": False,
        "order_type": "market",
    }
