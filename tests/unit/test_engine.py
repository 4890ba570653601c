"""The engine end to end with fakes: signal -> sizing -> egress -> fill -> portfolio."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from tests.fakes import FakeMarket, ScriptedStrategy
from tradeops.bootstrap.adapters import Adapters
from tradeops.bootstrap.engine import RunOptions, build_runtime
from tradeops.config.load import load_config
from tradeops.domain.events import DenialReason
from tradeops.domain.market import Bar
from tradeops.domain.money import to_decimal
from tradeops.domain.trading import OrderRequest, Side
from tradeops.exchanges.paper import PaperExchange
from tradeops.runtime.fakes import RecordingSink, StaticGate

MIN5 = 300_000


def build(allocation: float = 0.35, gate: StaticGate | None = None, wrap=lambda venue: venue):
    """The engine as bootstrap builds it, with fakes handed in: a market the test feeds, a scripted
    strategy, a recording sink, a paper venue on the test's clock and (optionally) a static gate."""
    base = load_config("config/core.yaml")
    profile = base.risk_profiles["balanced"].model_copy(
        update={"strategy_allocations": {"daily_trend": allocation}}
    )
    scheduler = base.scheduler()
    schedule = scheduler.schedules["daily_trend"].model_copy(update={"symbols": ("BTC/USDT",)})
    runtime_cfg = base.runtime.model_copy(
        update={
            "multi_strategy_schedulers": {
                base.runtime.default_scheduler: scheduler.model_copy(
                    update={"schedules": {"daily_trend": schedule}}
                )
            }
        }
    )
    cfg = base.model_copy(
        update={"risk_profiles": {**base.risk_profiles, "balanced": profile}, "runtime": runtime_cfg}
    )
    env = cfg.environments["binance_paper"]
    market = FakeMarket(MIN5)
    clock = {"now": 0}
    sink = RecordingSink()
    strategy = ScriptedStrategy("daily_trend")
    runtime = build_runtime(
        RunOptions(state="none", decision_log=False, kill_switch=gate is not None),
        cfg,
        Adapters(
            sink=sink,
            gate=gate,
            market=market,
            strategies={"daily_trend": strategy},
            exchange=lambda _now, interval: wrap(PaperExchange(env.venues, lambda: clock["now"], interval)),
        ),
    )
    return runtime.engine, market, clock, sink, strategy


def step(engine, market, clock, ts: int, price: float = 30_000.0) -> None:
    market.push(Bar("binance", "BTC/USDT", ts, price, price * 1.01, price * 0.99, price, 50.0))
    clock["now"] = ts + MIN5
    engine.on_market(ts + MIN5, market.advance_to(ts + MIN5))
    engine.refresh_disabled()


def test_signal_becomes_a_sized_fill_within_the_allocation():
    engine, market, clock, sink, _ = build(allocation=0.35)
    step(engine, market, clock, 0)
    outcome = engine.run_cycle("daily_trend", clock["now"])
    assert outcome.orders == 1
    step(engine, market, clock, MIN5)
    position = engine.portfolio.position("daily_trend", "binance", "BTC/USDT")
    assert position.quantity > 0
    exposure = engine.portfolio.strategy_exposure("daily_trend")
    cap = min(Decimal("0.35"), to_decimal(engine.slots["daily_trend"].profile.max_position_pct)) * Decimal(
        100_000
    )
    assert exposure <= cap * Decimal("1.01")  # within the cap at the fill price
    assert exposure > cap * Decimal("0.9")
    kinds = [(r.kind, r.status) for r in sink.records]
    assert ("signal", "emitted") in kinds and ("order", "submitted") in kinds and ("fill", "filled") in kinds


def test_allocation_zero_stops_new_entries():
    engine, market, clock, _sink, strategy = build(allocation=0.0)
    for i in range(5):
        step(engine, market, clock, i * MIN5)
        engine.run_cycle("daily_trend", clock["now"])
    assert strategy.calls == 5  # the strategy still runs and signals...
    assert engine.portfolio.open_position_count() == 0  # ...but never opens a position
    assert engine.stats.strategies["daily_trend"].orders == 0
    # And the gate itself refuses an entry for a zero allocation, whoever builds the order.
    order = OrderRequest(
        "x", "daily_trend", "binance", "BTC/USDT", Side.BUY, Decimal("0.01"), Decimal(30_000), 0
    )
    denial = engine.egress.check(order)
    assert denial is not None and denial.reason is DenialReason.ALLOCATION_BUDGET


def test_disabled_strategy_runs_no_cycle_and_egress_refuses_it():
    gate = StaticGate(disabled=frozenset({"daily_trend"}))
    engine, market, clock, _sink, strategy = build(gate=gate)
    step(engine, market, clock, 0)
    outcome = engine.run_cycle("daily_trend", clock["now"])
    assert outcome.skipped == "disabled" and strategy.calls == 0
    assert engine.allocations()["daily_trend"] == 0.0
    assert engine.risk_bucket("daily_trend") == "manual"
    order = OrderRequest(
        "x", "daily_trend", "binance", "BTC/USDT", Side.BUY, Decimal("0.01"), Decimal(30_000), 0
    )
    assert engine.egress.check(order).reason is DenialReason.STRATEGY_DISABLED


@pytest.mark.parametrize("reduce_only", [False, True])
def test_kill_switch_blocks_new_orders_at_egress(reduce_only):
    gate = StaticGate()
    engine, market, clock, sink, _ = build(gate=gate)
    step(engine, market, clock, 0)
    gate.killed = True
    order = OrderRequest(
        "x",
        "daily_trend",
        "binance",
        "BTC/USDT",
        Side.BUY,
        Decimal("0.01"),
        Decimal(30_000),
        0,
        reduce_only=reduce_only,
    )
    routed = engine.egress.submit_group([order])
    assert routed[0].denial.reason is DenialReason.KILL_SWITCH  # default policy "hold": nothing goes out
    assert engine.exchange.open_order_ids() == []
    assert sink.of_kind("risk_decision", "denied")


def test_exchange_errors_are_recorded_not_raised():
    from tradeops.exchanges.faults import FaultSpec, FaultyExchange

    engine, market, clock, sink, _ = build(
        wrap=lambda venue: FaultyExchange(venue, FaultSpec(error_rate=1.0))
    )
    step(engine, market, clock, 0)
    outcome = engine.run_cycle("daily_trend", clock["now"])
    assert outcome.orders == 1  # it passed the gate...
    assert engine.stats.exchange_errors[("binance", "temporary")] == 1  # ...and the venue failed it
    assert sink.of_kind("order", "failed")
    assert engine.stats.strategies["daily_trend"].orders == 0


class PolicyGate(StaticGate):
    def __init__(self, positions: str, cancel: bool = True) -> None:
        super().__init__()
        self.positions = positions
        self.cancel = cancel

    def on_disable(self):
        from tradeops.config.overrides import OnDisable

        return OnDisable(cancel_open_orders=self.cancel, positions=self.positions)


def _hold_a_position(engine, market, clock):
    step(engine, market, clock, 0)
    engine.run_cycle("daily_trend", clock["now"])
    step(engine, market, clock, MIN5)
    assert engine.portfolio.open_position_count() == 1


def test_kill_switch_hold_cancels_open_orders_and_records_the_halt():
    gate = PolicyGate("hold")
    engine, market, clock, sink, _ = build(gate=gate)
    step(engine, market, clock, 0)
    engine.run_cycle("daily_trend", clock["now"])
    assert engine.exchange.open_order_ids()
    gate.killed = True
    assert engine.refresh_disabled() is True  # strategies stop
    assert engine.exchange.open_order_ids() == []
    halted = sink.of_kind("trading_state", "halted")
    assert halted and halted[0].artefacts["scope"] == "kill_switch"
    gate.killed = False
    assert engine.refresh_disabled() is False
    assert sink.of_kind("trading_state", "active")


def test_kill_switch_flatten_closes_positions_with_reduce_only_orders():
    gate = PolicyGate("flatten")
    engine, market, clock, sink, _ = build(gate=gate)
    _hold_a_position(engine, market, clock)
    gate.killed = True
    engine.refresh_disabled()
    step(engine, market, clock, 2 * MIN5)
    assert engine.portfolio.open_position_count() == 0
    assert sink.of_kind("trading_state", "reducing")


def test_kill_switch_reduce_lets_strategies_run_but_only_shrink():
    gate = PolicyGate("reduce")
    engine, market, clock, sink, strategy = build(gate=gate)
    gate.killed = True
    step(engine, market, clock, 0)
    assert engine.kill_mode == "reduce"
    engine.run_cycle("daily_trend", clock["now"])
    assert strategy.calls == 1  # it runs...
    assert engine.exchange.open_order_ids() == []  # ...but its entry is refused
    assert sink.of_kind("risk_decision", "denied")[0].metadata["reason"] == "kill_switch"


def test_the_cycles_of_one_step_share_one_view_and_the_next_market_update_makes_a_new_one():
    engine, market, clock, _sink, strategy = build()
    made: list[object] = []

    def view() -> object:
        made.append(copy.copy(market._view))
        return made[-1]

    engine.series.view = view  # type: ignore[method-assign]
    seen: list[object] = []
    decide = strategy.decide
    strategy.decide = lambda v, *args: seen.append(v) or decide(v, *args)  # type: ignore[method-assign]
    step(engine, market, clock, 0)
    engine.run_cycle("daily_trend", clock["now"])
    engine.run_cycle("daily_trend", clock["now"])  # the same step: the same view
    step(engine, market, clock, MIN5)
    engine.run_cycle("daily_trend", clock["now"])  # the market moved: a new view
    engine.run_cycle("daily_trend", clock["now"] + 1)  # a cycle at another time: a new view too
    assert len(made) == 3
    assert seen == [made[0], made[0], made[1], made[2]]
