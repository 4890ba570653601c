"""The scheduler's heartbeat and the requested-against-observed status built on it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradeops.bootstrap.ops import OpsContext, build_ops_context
from tradeops.domain.trading import TradingState
from tradeops.ops.controls import Actor, create_override, disable_strategy
from tradeops.ops.observed import (
    EXIT_NO_SCHEDULER,
    EXIT_NOT_OBEYED,
    NO_SCHEDULER,
    ObservedStatusQuery,
    observed_status,
)
from tradeops.persistence.heartbeat_store import StoreHeartbeatSink
from tradeops.runtime.heartbeat import HEARTBEAT_KV_KEY, Heartbeat, HeartbeatPublisher
from tradeops.runtime.stats import RuntimeStats

REPO = Path(__file__).resolve().parents[2]
NOW = 1_772_366_400_000  # 2026-03-01T12:00:00Z
STRATEGIES = ("daily_trend", "mean_reversion", "volatility_target", "cross_exchange")
NO_WAIT = ObservedStatusQuery(wait_s=0.0)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> int:
        return self.now


class ListSink:
    def __init__(self) -> None:
        self.beats: list[Heartbeat] = []

    def publish(self, beat: Heartbeat) -> None:
        self.beats.append(beat)


def stats() -> RuntimeStats:
    out = RuntimeStats("binance_paper")
    for name in STRATEGIES:
        out.strategy(name, "balanced")
    return out


def test_publisher_throttles_but_publishes_every_change_at_once() -> None:
    clock, sink, live = Clock(), ListSink(), stats()
    publisher = HeartbeatPublisher(live, sink, clock, interval_s=1.0, stale_after_s=5.0)
    publisher.on_step(1_700_000_000_000, 1)
    clock.now += 100
    publisher.on_step(1_700_000_300_000, 2)  # nothing changed, 0.1 s later: not published
    assert [b.steps for b in sink.beats] == [1]
    live.override_active = True
    live.global_state = TradingState.HALTED
    clock.now += 10
    publisher.beat()  # a change is published at once
    assert sink.beats[-1].override_active and sink.beats[-1].global_state == "halted"
    live.strategies["daily_trend"].orders += 1
    clock.now += 1_000
    publisher.on_step(1_700_000_600_000, 3)
    beat = sink.beats[-1]
    assert beat.steps == 3 and beat.last_order_ms == clock.now and beat.wall_ms == clock.now
    assert beat.market_time_ms == 1_700_000_600_000  # market time kept apart from wall time
    assert live.heartbeat_ms == clock.now and live.last_step_wall_ms == clock.now
    publisher.stopped()
    assert not sink.beats[-1].running and not sink.beats[-1].live_at(clock.now)


def test_a_failing_sink_never_raises() -> None:
    class Broken:
        def publish(self, beat: Heartbeat) -> None:
            raise OSError("disk full")

    publisher = HeartbeatPublisher(stats(), Broken(), Clock())
    assert publisher.beat(force=True) is None and publisher.failures == 1


def test_heartbeat_round_trips_and_bad_content_is_no_heartbeat() -> None:
    beat = Heartbeat(NOW, NOW - 5, 1, "binance_paper", True, 3, 9, "active", False, False, {"a": "active"})
    assert Heartbeat.from_json(beat.to_json()) == beat
    assert Heartbeat.from_json("{not json") is None
    assert Heartbeat.from_json('{"wall_ms": 1}') is None
    assert beat.live_at(NOW + 5_000) and not beat.live_at(NOW + 5_001)


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpsContext]:
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY", "unit-test-key-0123456789")
    monkeypatch.delenv("TRADEOPS_DECISION_LOG_KEY_FILE", raising=False)
    context = build_ops_context()
    context.clock_ms = Clock()
    yield context
    context.close()


def publish(ctx: OpsContext, live: RuntimeStats, at_ms: int) -> HeartbeatPublisher:
    publisher = HeartbeatPublisher(live, StoreHeartbeatSink(ctx.store), lambda: at_ms)  # type: ignore[arg-type]  # the SQL store has kv_set; the StateStore port does not name it
    publisher.beat(force=True)
    return publisher


def test_no_heartbeat_means_no_scheduler_running(ctx: OpsContext) -> None:
    view = observed_status(ctx, NO_WAIT)
    assert view.verdict == NO_SCHEDULER and view.exit_code == EXIT_NO_SCHEDULER
    assert view.requested.status == "enabled" and view.to_dict()["observed"] is None


def test_disabled_only_when_the_running_scheduler_obeyed(ctx: OpsContext) -> None:
    create_override(ctx, reason="feed outage", ticket="INC-1", requested_by="ops", actor=Actor("ops", "cli"))
    live = stats()
    publish(ctx, live, NOW - 200)  # running, but has not seen the override yet
    waited: list[float] = []
    view = observed_status(ctx, ObservedStatusQuery(wait_s=0.0), sleep=waited.append)
    assert view.verdict == "not obeyed" and view.exit_code == EXIT_NOT_OBEYED
    assert view.requested.status == "disabled" and view.observed_disabled is False

    live.override_active, live.global_state = True, TradingState.HALTED
    publish(ctx, live, NOW - 100)
    view = observed_status(ctx, NO_WAIT)
    assert view.verdict == "disabled" and view.exit_code == 0
    observed = view.to_dict()["observed"]
    assert isinstance(observed, dict) and observed["heartbeat_age_seconds"] == 0.1
    assert observed["global_state"] == "halted" and observed["override_seen"] is True


def test_a_stale_heartbeat_is_no_scheduler_running(ctx: OpsContext) -> None:
    publish(ctx, stats(), NOW - 5_001)  # older than stale_after (5 s by default)
    view = observed_status(ctx, NO_WAIT)
    assert view.verdict == NO_SCHEDULER and view.heartbeat_age_s == 5.001
    assert ctx.store.kv_get(HEARTBEAT_KV_KEY) is not None  # type: ignore[attr-defined]  # SQL store kv, not on the port


def test_per_strategy_disable_is_compared_strategy_by_strategy(ctx: OpsContext) -> None:
    disable_strategy(ctx, "mean_reversion", reason="drill", ticket="CHG-1", actor=Actor("ops", "cli"))
    live = stats()
    publish(ctx, live, NOW)
    view = observed_status(ctx, NO_WAIT)
    assert view.verdict == "not obeyed"
    assert view.strategies["mean_reversion"] == {"requested": "disabled", "observed": "active"}
    live.strategies["mean_reversion"].disabled = True
    publish(ctx, live, NOW)
    view = observed_status(ctx, NO_WAIT)
    assert view.verdict == "enabled"  # the others still trade
    assert view.strategies["mean_reversion"] == {"requested": "disabled", "observed": "disabled"}


def test_every_trading_state_change_is_one_console_line() -> None:
    clock, live, lines = Clock(), stats(), []
    publisher = HeartbeatPublisher(live, ListSink(), clock)
    publisher.on_change = lines.append
    publisher.beat()
    live.override_malformed, live.override_active, live.global_state = True, True, TradingState.HALTED
    publisher.beat()
    assert lines == ["override file MALFORMED: trading halted (tradeops kill-switch status)",
                     "trading state: active -> halted"]  # fmt: skip
    lines.clear()
    live.override_malformed, live.global_state = False, TradingState.ACTIVE
    live.override_active = False
    live.strategies["mean_reversion"].disabled = True
    publisher.beat()
    assert lines == [
        "override file no longer malformed",
        "kill switch cleared",
        "trading state: halted -> active",
        "strategy mean_reversion: active -> disabled",
    ]
    lines.clear()
    publisher.beat()  # nothing changed: nothing said
    publisher.stopped()
    assert lines == ["scheduler stopped"]


def test_each_strategy_cycle_is_stamped_with_the_wall_time_of_its_step() -> None:
    from tradeops.config.models import ResourceLimits
    from tradeops.observability.collector import RuntimeCollector

    clock, live = Clock(), stats()
    publisher = HeartbeatPublisher(live, ListSink(), clock, interval_s=1.0, stale_after_s=5.0)
    live.strategies["daily_trend"].cycles = 1
    live.strategies["daily_trend"].last_cycle_ms = 1_700_000_000_000  # market time of a replay
    publisher.on_step(1_700_000_000_000, 1)
    ran_at = clock.now
    clock.now += 5_000
    live.strategies["mean_reversion"].cycles = 1
    publisher.on_step(1_700_000_300_000, 2)  # daily_trend ran no cycle in this step
    assert live.strategies["daily_trend"].last_cycle_wall_ms == ran_at
    assert live.strategies["mean_reversion"].last_cycle_wall_ms == clock.now
    assert live.strategies["volatility_target"].last_cycle_wall_ms == 0  # never ran
    exported = {
        dict(sample.labels)["strategy"]: sample.value
        for family in RuntimeCollector(live, ResourceLimits()).collect()
        if family.name == "tradeops_strategy_last_cycle_timestamp_seconds"
        for sample in family.samples
    }
    assert exported["daily_trend"] == ran_at / 1000 and exported["mean_reversion"] == clock.now / 1000


def test_a_step_publishes_only_when_due_or_when_an_observed_state_changed() -> None:
    clock, sink, live = Clock(), ListSink(), stats()
    publisher = HeartbeatPublisher(live, sink, clock, interval_s=1.0, stale_after_s=5.0)
    publisher.on_step(1_700_000_000_000, 1)
    for step in range(2, 6):  # quiet steps within the interval: nothing published
        clock.now += 10
        publisher.on_step(1_700_000_000_000 + step, step)
    assert [b.steps for b in sink.beats] == [1]
    live.strategies["volatility_target"].trading_state = TradingState.HALTED
    clock.now += 10
    publisher.on_step(1_700_000_000_010, 6)  # a strategy's state changed: at once
    assert sink.beats[-1].steps == 6 and sink.beats[-1].strategies["volatility_target"] == "halted"
    live.strategies["volatility_target"].disabled = True
    clock.now += 10
    publisher.on_step(1_700_000_000_020, 7)
    assert sink.beats[-1].strategies["volatility_target"] == "disabled"
    live.global_state = TradingState.REDUCING
    clock.now += 10
    publisher.on_step(1_700_000_000_030, 8)
    assert sink.beats[-1].global_state == "reducing"
    clock.now += 10
    publisher.on_step(1_700_000_000_040, 9)
    assert sink.beats[-1].steps == 8  # nothing new
    clock.now += 1_000
    publisher.on_step(1_700_000_000_050, 10)
    assert sink.beats[-1].steps == 10  # due


def test_a_step_publishes_at_once_when_only_the_account_state_moved() -> None:
    clock, sink, live = Clock(), ListSink(), stats()
    publisher = HeartbeatPublisher(live, sink, clock, interval_s=1.0, stale_after_s=5.0)
    publisher.on_step(1_700_000_000_000, 1)
    clock.now += 10
    publisher.on_step(1_700_000_300_000, 2)
    assert [b.steps for b in sink.beats] == [1]  # nothing moved
    live.global_state = TradingState.REDUCING
    clock.now += 10
    publisher.on_step(1_700_000_600_000, 3)
    assert [(b.steps, b.global_state) for b in sink.beats] == [(1, "active"), (3, "reducing")]
    clock.now += 10
    publisher.on_step(1_700_000_900_000, 4)  # published: not again
    assert len(sink.beats) == 2
