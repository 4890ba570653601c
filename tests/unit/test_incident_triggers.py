"""Automatic incident triggers on hand-built RuntimeStats with an injected clock."""

from __future__ import annotations

from decimal import Decimal

from tradeops.config.models import (
    ExchangeFailureTrigger,
    IncidentsConfig,
    IncidentTriggers,
    PnlDivergenceTrigger,
    ResourceBreachTrigger,
)
from tradeops.ops.incident_triggers import TriggerFired, TriggerState, evaluate_triggers
from tradeops.runtime.stats import Histogram, RuntimeStats

MINUTE = 60_000
T0 = 1_700_000_000_000


def config(
    pnl: PnlDivergenceTrigger | None = None,
    exchange: ExchangeFailureTrigger | None = None,
    resources: ResourceBreachTrigger | None = None,
) -> IncidentsConfig:
    return IncidentsConfig(
        triggers=IncidentTriggers(
            pnl_divergence=pnl or PnlDivergenceTrigger(),
            exchange_failures=exchange or ExchangeFailureTrigger(),
            resource_breach=resources or ResourceBreachTrigger(),
        )
    )


def with_strategy(name: str = "cross_exchange", **fields: object) -> RuntimeStats:
    stats = RuntimeStats("binance_paper")
    strategy = stats.strategy(name, "balanced")
    for key, value in fields.items():
        setattr(strategy, key, value)
    return stats


def names(fired: list[TriggerFired]) -> list[str]:
    return [f.key for f in fired]


# --- PnL divergence ---------------------------------------------------------------------------------


def set_loss(stats: RuntimeStats, loss: str, name: str = "cross_exchange") -> None:
    stats.strategies[name].day_pnl = -Decimal(loss)


def test_pnl_divergence_fires_once_per_episode() -> None:
    stats = with_strategy(daily_loss_budget=Decimal("100"))
    state, cfg = TriggerState(), config()
    set_loss(stats, "300")  # exactly 3x: not beyond
    assert evaluate_triggers(stats, cfg, T0, state) == []
    set_loss(stats, "300.01")
    [fired] = evaluate_triggers(stats, cfg, T0 + 1, state)
    assert (fired.trigger, fired.scope, fired.subject, fired.action) == (
        "pnl_divergence",
        "strategy",
        "cross_exchange",
        "alert",
    )
    assert fired.figures["divergence_ratio"] == 3.0001 and fired.figures["limit_multiple"] == 3.0
    set_loss(stats, "500")
    assert evaluate_triggers(stats, cfg, T0 + 2, state) == []  # same episode
    set_loss(stats, "100")
    assert evaluate_triggers(stats, cfg, T0 + 3, state) == []  # cleared
    set_loss(stats, "400")
    assert names(evaluate_triggers(stats, cfg, T0 + 4, state)) == ["pnl_divergence:cross_exchange"]


def test_pnl_divergence_uses_the_configured_multiple_and_action() -> None:
    stats = with_strategy(daily_loss_budget=Decimal("100"), day_pnl=Decimal("-150"))
    cfg = config(pnl=PnlDivergenceTrigger(multiple_of_daily_budget=1.0, action="disable"))
    [fired] = evaluate_triggers(stats, cfg, T0, TriggerState())
    assert fired.action == "disable"
    off = config(pnl=PnlDivergenceTrigger(enabled=False, multiple_of_daily_budget=1.0))
    assert evaluate_triggers(stats, off, T0, TriggerState()) == []


def test_a_disabled_strategy_does_not_fire_and_keeps_its_episode() -> None:
    stats = with_strategy(daily_loss_budget=Decimal("100"), day_pnl=Decimal("-400"))
    state, cfg = TriggerState(), config()
    assert len(evaluate_triggers(stats, cfg, T0, state)) == 1
    stats.strategies["cross_exchange"].disabled = True
    assert evaluate_triggers(stats, cfg, T0 + 1, state) == []
    stats.strategies["cross_exchange"].disabled = False  # operator re-enabled it: not overruled
    assert evaluate_triggers(stats, cfg, T0 + 2, state) == []
    fresh = with_strategy(daily_loss_budget=Decimal("100"), day_pnl=Decimal("-400"), disabled=True)
    assert evaluate_triggers(fresh, cfg, T0, TriggerState()) == []


# --- exchange failures --------------------------------------------------------------------------------


def submit(stats: RuntimeStats, venue: str, ok: int = 0, failed: int = 0, seconds: float = 0.01) -> None:
    hist = stats.exchange_latency.setdefault(venue, Histogram())
    for _ in range(ok + failed):
        hist.observe(seconds)
    stats.exchange_errors[(venue, "temporary")] += failed


def test_consecutive_errors_beyond_the_limit_fire() -> None:
    cfg = config(exchange=ExchangeFailureTrigger(max_consecutive_errors=5, error_window_minutes=1))
    stats, state = RuntimeStats("binance_paper"), TriggerState()
    now = T0
    for _ in range(5):  # one failed submit per evaluation, far apart: only the streak grows
        now += 10 * MINUTE
        submit(stats, "bybit", failed=1)
        assert evaluate_triggers(stats, cfg, now, state) == []
    submit(stats, "bybit", failed=1)
    [fired] = evaluate_triggers(stats, cfg, now + 10 * MINUTE, state)
    assert fired.key == "exchange_errors:bybit" and fired.scope == "venue"
    assert fired.figures["consecutive_errors"] == 6 and fired.figures["errors_in_window"] == 1
    assert fired.figures["errors_temporary"] == 6


def test_a_successful_submit_ends_the_streak_and_the_episode() -> None:
    cfg = config(exchange=ExchangeFailureTrigger(max_consecutive_errors=2, error_window_minutes=1))
    stats, state = RuntimeStats("binance_paper"), TriggerState()
    submit(stats, "binance", failed=2)
    assert evaluate_triggers(stats, cfg, T0, state) == []
    submit(stats, "binance", ok=1)
    assert evaluate_triggers(stats, cfg, T0 + 5 * MINUTE, state) == []
    submit(stats, "binance", failed=2)
    assert evaluate_triggers(stats, cfg, T0 + 10 * MINUTE, state) == []  # streak restarted at 0
    submit(stats, "binance", failed=1)
    assert names(evaluate_triggers(stats, cfg, T0 + 15 * MINUTE, state)) == ["exchange_errors:binance"]
    submit(stats, "binance", ok=3)
    assert evaluate_triggers(stats, cfg, T0 + 20 * MINUTE, state) == []
    assert "exchange_errors:binance" not in state.open_episodes


def test_errors_within_the_window_fire_despite_successes() -> None:
    cfg = config(exchange=ExchangeFailureTrigger(max_consecutive_errors=5, error_window_minutes=5))
    stats, state = RuntimeStats("binance_paper"), TriggerState()
    for step in range(3):  # 2 errors per minute, each interval also has successes
        submit(stats, "bybit", ok=1, failed=2)
        fired = evaluate_triggers(stats, cfg, T0 + step * MINUTE, state)
    [only] = fired
    assert only.figures["errors_in_window"] == 6 and only.figures["consecutive_errors"] == 0
    submit(stats, "bybit", ok=5)
    assert evaluate_triggers(stats, cfg, T0 + 10 * MINUTE, state) == []  # the old errors left the window
    assert not state.open_episodes


def test_a_restarted_counter_is_counted_from_zero() -> None:
    cfg = config(exchange=ExchangeFailureTrigger(max_consecutive_errors=3))
    state = TriggerState()
    first = RuntimeStats("binance_paper")
    submit(first, "bybit", ok=10, failed=2)
    evaluate_triggers(first, cfg, T0, state)
    second = RuntimeStats("binance_paper")  # new process: counters start again
    submit(second, "bybit", failed=1)
    assert evaluate_triggers(second, cfg, T0 + MINUTE, state) == []
    assert state.venues["bybit"].errors == 1


def test_latency_spike_from_bucket_deltas() -> None:
    cfg = config(exchange=ExchangeFailureTrigger(latency_spike_ms=2000))
    stats, state = RuntimeStats("binance_paper"), TriggerState()
    submit(stats, "binance", ok=50, seconds=1.5)  # bucket (1, 2.5]: may be below 2 s, mean below too
    assert evaluate_triggers(stats, cfg, T0, state) == []
    submit(stats, "binance", ok=100, seconds=0.01)
    submit(stats, "binance", ok=1, seconds=3.0)  # bucket (2.5, 5]: certainly above 2 s
    [fired] = evaluate_triggers(stats, cfg, T0 + MINUTE, state)
    assert fired.key == "latency_spike:binance"
    assert fired.figures["above_threshold"] == 1 and fired.figures["observations"] == 101
    assert evaluate_triggers(stats, cfg, T0 + 2 * MINUTE, state) == []  # no submits: episode kept
    assert "latency_spike:binance" in state.open_episodes
    submit(stats, "binance", ok=10, seconds=0.01)
    assert evaluate_triggers(stats, cfg, T0 + 3 * MINUTE, state) == []
    assert "latency_spike:binance" not in state.open_episodes
    submit(stats, "binance", ok=1, seconds=7.0)
    assert names(evaluate_triggers(stats, cfg, T0 + 4 * MINUTE, state)) == ["latency_spike:binance"]


def test_latency_spike_from_the_mean_of_the_interval() -> None:
    cfg = config(exchange=ExchangeFailureTrigger(latency_spike_ms=200))
    stats, state = RuntimeStats("binance_paper"), TriggerState()
    submit(stats, "bybit", ok=4, seconds=0.24)  # bucket (0.1, 0.25] starts below 200 ms; mean 240 ms
    [fired] = evaluate_triggers(stats, cfg, T0, state)
    assert fired.figures["above_threshold"] == 0 and fired.figures["mean_ms"] == 240.0


def test_no_fills_while_orders_are_sent() -> None:
    cfg = config(exchange=ExchangeFailureTrigger(no_fill_minutes=30))
    stats, state = with_strategy("mean_reversion", orders=4, fills=4), TriggerState()
    assert evaluate_triggers(stats, cfg, T0, state) == []
    assert evaluate_triggers(stats, cfg, T0 + 120 * MINUTE, state) == []  # quiet, nothing sent: fine
    stats.strategies["mean_reversion"].orders = 5
    assert evaluate_triggers(stats, cfg, T0 + 121 * MINUTE, state) == []  # unfilled since 121
    stats.strategies["mean_reversion"].orders = 9
    assert evaluate_triggers(stats, cfg, T0 + 150 * MINUTE, state) == []
    [fired] = evaluate_triggers(stats, cfg, T0 + 151 * MINUTE, state)
    assert fired.key == "no_fills:mean_reversion" and fired.scope == "strategy"
    assert fired.figures == {"minutes_without_fill": 30.0, "limit_minutes": 30.0, "orders": 9, "fills": 4}
    stats.strategies["mean_reversion"].fills = 5
    assert evaluate_triggers(stats, cfg, T0 + 152 * MINUTE, state) == []
    assert not state.open_episodes


# --- resources ------------------------------------------------------------------------------------------


def test_resource_breach_beyond_the_sustained_minutes() -> None:
    cfg = config(resources=ResourceBreachTrigger(sustained_minutes=10, action="disable"))
    stats, state = RuntimeStats("binance_paper"), TriggerState()
    stats.resources.breach_seconds = 600.0
    assert evaluate_triggers(stats, cfg, T0, state) == []
    stats.resources.breach_seconds, stats.resources.cpu_percent = 600.5, 97.0
    [fired] = evaluate_triggers(stats, cfg, T0, state)
    assert (fired.key, fired.scope, fired.action) == (
        "resource_breach:multi_strategy",
        "scheduler",
        "disable",
    )
    assert fired.figures["cpu_percent"] == 97.0 and fired.figures["breach_seconds"] == 600.5
    stats.resources.breach_seconds = 900.0
    assert evaluate_triggers(stats, cfg, T0, state) == []
    stats.resources.breach_seconds = 0.0
    assert evaluate_triggers(stats, cfg, T0, state) == []
    stats.resources.breach_seconds = 700.0
    assert len(evaluate_triggers(stats, cfg, T0, state)) == 1


def test_evaluation_is_deterministic_and_ordered() -> None:
    def scenario() -> list[list[str]]:
        cfg = config(exchange=ExchangeFailureTrigger(max_consecutive_errors=1, latency_spike_ms=1000))
        stats, state, seen = RuntimeStats("binance_paper"), TriggerState(), []
        for name in ("volatility_target", "cross_exchange"):
            strategy = stats.strategy(name, "balanced")
            strategy.daily_loss_budget, strategy.day_pnl = Decimal("10"), Decimal("-50")
        stats.resources.breach_seconds = 3600
        submit(stats, "bybit", failed=2, seconds=3.0)
        submit(stats, "binance", ok=1)
        seen.append(names(evaluate_triggers(stats, cfg, T0, state)))
        seen.append(names(evaluate_triggers(stats, cfg, T0 + MINUTE, state)))
        return seen

    first = scenario()
    assert first == scenario()
    assert first == [
        [
            "pnl_divergence:cross_exchange",
            "pnl_divergence:volatility_target",
            "exchange_errors:bybit",
            "latency_spike:bybit",
            "resource_breach:multi_strategy",
        ],
        [],
    ]
