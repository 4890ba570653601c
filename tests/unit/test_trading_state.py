"""The one owner of trading state, the pure monitors and order planning it is fed by."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.test_engine import build, step
from tradeops.allocation.planning import LegBook, LegLimits, plan_order
from tradeops.domain.trading import Side, TradingState
from tradeops.risk import monitors
from tradeops.runtime.fakes import RecordingSink, StaticGate
from tradeops.runtime.stats import RuntimeStats
from tradeops.runtime.trading_state import KILL_SWITCH, TradingStates, record_to, show_in

D = Decimal


def owned(*strategies: str) -> tuple[TradingStates, RecordingSink, RuntimeStats]:
    stats = RuntimeStats("test")
    for name in strategies:
        stats.strategy(name, "balanced")
    states = TradingStates(strategies)
    sink = RecordingSink()
    states.subscribe(record_to(sink))
    states.subscribe(show_in(stats, states))
    return states, sink, stats


def test_the_figures_show_the_kill_switch_state_through_every_publish():
    """The bug of issue 13: the engine's own (active) state overwrote the kill switch's halt."""
    gate = StaticGate()
    engine, market, clock, _sink, _ = build(gate=gate)
    step(engine, market, clock, 0)
    gate.killed = True
    step(engine, market, clock, 300_000)
    for _ in range(3):
        engine.publish_stats(force=True)
        assert engine.stats.global_state is TradingState.HALTED
        assert engine.global_state is TradingState.ACTIVE  # the account's own state is untouched
    gate.killed = False
    step(engine, market, clock, 600_000)
    assert engine.stats.global_state is TradingState.ACTIVE


def test_every_change_is_recorded_once_and_shown_at_once():
    states, sink, stats = owned("a")
    assert states.change("a", TradingState.REDUCING, "daily loss", 1)
    assert not states.change("a", TradingState.REDUCING, "again", 2)  # no change, no entry
    assert stats.strategies["a"].trading_state is TradingState.REDUCING
    states.change(KILL_SWITCH, TradingState.HALTED, "override", 3)
    assert stats.global_state is TradingState.HALTED and states.account is TradingState.ACTIVE
    entries = [(r.artefacts["scope"], r.status) for r in sink.of_kind("trading_state")]
    assert entries == [("a", "reducing"), ("kill_switch", "halted")]


def test_a_fail_stop_without_recording_still_shows_and_clears():
    states, sink, stats = owned("a")
    states.fail_stop("state_log_mismatch", 5, record=False)
    assert stats.global_state is TradingState.HALTED and stats.halt_reason == "state_log_mismatch"
    assert not sink.records
    states.clear_halt("level again", 6)
    assert stats.global_state is TradingState.ACTIVE and stats.halt_reason is None
    assert [r.status for r in sink.of_kind("trading_state")] == ["active"]


def test_disables_and_the_override_flag_are_shown_at_once():
    states, _sink, stats = owned("a", "b")
    assert states.set_disabled(frozenset({"b"})) == {"b"}
    assert states.set_disabled(frozenset({"b"})) == set()
    states.set_override(True, True)
    assert stats.strategies["b"].disabled and not stats.strategies["a"].disabled
    assert stats.override_active and stats.override_malformed


def test_the_drawdown_monitor_never_loosens_a_halt():
    assert monitors.hard_drawdown(TradingState.ACTIVE, D(100), D(70), D("0.2")) is not None
    assert monitors.hard_drawdown(TradingState.HALTED, D(100), D(70), D("0.2")) is None
    assert monitors.hard_drawdown(TradingState.ACTIVE, D(100), D(90), D("0.2")) is None


def test_the_daily_loss_monitor_reduces_and_lifts_only_its_own_states():
    reduce = monitors.daily_loss("a", TradingState.ACTIVE, D(-50), D(40))
    assert reduce is not None and reduce.state is TradingState.REDUCING
    lift = monitors.daily_loss("a", TradingState.REDUCING, D(-10), D(40))
    assert lift is not None and lift.state is TradingState.ACTIVE
    assert monitors.daily_loss("a", TradingState.HALTED, D(-50), D(40)) is None
    assert monitors.pnl_divergence_ratio(D(-20), D(40)) == 0.5
    assert monitors.pnl_divergence_ratio(D(20), D(40)) == 0.0


LIMITS = LegLimits(
    budget=D(10_000),
    instruments=1,
    max_position_notional=D(10_000),
    quantity_step=D("0.001"),
    min_notional=D(5),
)


@given(
    weight=st.floats(-1.0, 1.0, allow_nan=False),
    held=st.decimals(-1, 1, places=3),
    working=st.decimals(-1, 1, places=3),
)
def test_a_planned_order_never_overshoots_the_budget_and_is_reduce_only_only_when_shrinking(
    weight, held, working
):
    book = LegBook(price=D(5_000), held_quantity=held, working_quantity=working, other_exposure=D(0))
    planned = plan_order(weight, book, LIMITS)
    if planned is None:
        return
    signed = planned.quantity if planned.side is Side.BUY else -planned.quantity
    after = held + working + signed
    assert abs(after) * book.price <= LIMITS.budget  # the target is within the budget
    if planned.reduce_only:
        assert abs(after) < abs(held + working)
        assert after == 0 or (after > 0) == (held + working > 0)  # no flip through zero
