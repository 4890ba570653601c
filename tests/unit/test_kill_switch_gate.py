"""KillSwitch: the per-order gate at egress (global override, per-strategy disable, refresh)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tradeops.bootstrap.override_files import remove_override_file, write_override
from tradeops.config.overrides import OnDisable, OverrideFile, format_timestamp
from tradeops.domain.events import DenialReason
from tradeops.domain.trading import StrategyStatus
from tradeops.host.override_watcher import OverrideWatcher
from tradeops.persistence.sql_store import SqlStateStore
from tradeops.runtime.kill_switch import KillSwitch

NOW = 1_772_366_400_000


class FakeClock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> int:
        return self.now


class CountingStatuses:
    """A status source that counts how often the gate reads it."""

    def __init__(self) -> None:
        self.statuses: dict[str, StrategyStatus] = {}
        self.reads = 0

    def __call__(self) -> Mapping[str, StrategyStatus]:
        self.reads += 1
        return dict(self.statuses)


def override(**extra: object) -> OverrideFile:
    return OverrideFile.model_validate(
        {
            "schema": "stage4.scheduler.override",
            "schema_version": "1.0",
            "timestamp": format_timestamp(NOW),
            "action": "disable_multi_strategy",
            "reason": "feed outage",
            "ticket": "INC-42",
            "requested_by": "l2-ops",
            **extra,
        }
    )


def gate(tmp_path: Path, statuses: CountingStatuses, clock: FakeClock, **kw: bool) -> KillSwitch:
    watcher = OverrideWatcher(tmp_path, clock, poll_interval_ms=10)  # thread not started
    return KillSwitch(watcher, statuses, clock, **kw)


def test_everything_passes_without_override_or_disable(tmp_path: Path) -> None:
    switch = gate(tmp_path, CountingStatuses(), FakeClock())
    assert switch.allows_new_order("daily_trend") is None
    assert not switch.override_active()


def test_override_denies_every_strategy_on_the_next_order(tmp_path: Path) -> None:
    switch = gate(tmp_path, CountingStatuses(), FakeClock())
    write_override(tmp_path, override(), force=False)
    # No watcher thread is running: the per-order check alone sees the file.
    assert switch.allows_new_order("daily_trend") is DenialReason.KILL_SWITCH
    assert switch.allows_new_order("cross_exchange") is DenialReason.KILL_SWITCH
    remove_override_file(tmp_path / "multi_strategy_disable.json")
    assert switch.allows_new_order("daily_trend") is None


def test_without_per_order_check_the_gate_follows_the_watcher(tmp_path: Path) -> None:
    switch = gate(tmp_path, CountingStatuses(), FakeClock(), verify_each_order=False)
    write_override(tmp_path, override(), force=False)
    assert switch.allows_new_order("daily_trend") is None  # the watcher has not looked yet
    switch.watcher.check_now()
    assert switch.allows_new_order("daily_trend") is DenialReason.KILL_SWITCH


def test_malformed_override_denies(tmp_path: Path) -> None:
    switch = gate(tmp_path, CountingStatuses(), FakeClock())
    (tmp_path / "decision_orchestrator_disable.json").write_text("{oops")
    assert switch.allows_new_order("daily_trend") is DenialReason.KILL_SWITCH
    assert switch.override.malformed


def test_override_expires_at_the_gate(tmp_path: Path) -> None:
    clock = FakeClock()
    switch = gate(tmp_path, CountingStatuses(), clock)
    write_override(tmp_path, override(expires_at=format_timestamp(NOW + 60_000)), force=False)
    assert switch.allows_new_order("daily_trend") is DenialReason.KILL_SWITCH
    clock.now = NOW + 60_000
    assert switch.allows_new_order("daily_trend") is None


def test_on_disable_policy_comes_from_the_active_override(tmp_path: Path) -> None:
    switch = gate(tmp_path, CountingStatuses(), FakeClock())
    assert switch.on_disable() == OnDisable(cancel_open_orders=True, positions="hold")
    policy = {"cancel_open_orders": False, "positions": "reduce"}
    write_override(tmp_path, override(on_disable=policy), force=False)
    switch.allows_new_order("daily_trend")
    assert switch.on_disable() == OnDisable(cancel_open_orders=False, positions="reduce")


def test_disabled_strategy_is_denied_alone(tmp_path: Path) -> None:
    statuses = CountingStatuses()
    statuses.statuses["cross_exchange"] = StrategyStatus("cross_exchange", True, "spread", "INC-1", "ops")
    switch = gate(tmp_path, statuses, FakeClock())
    assert switch.allows_new_order("cross_exchange") is DenialReason.STRATEGY_DISABLED
    assert switch.allows_new_order("daily_trend") is None
    assert set(switch.disabled_strategies()) == {"cross_exchange"}


def test_override_wins_over_strategy_disable(tmp_path: Path) -> None:
    statuses = CountingStatuses()
    statuses.statuses["cross_exchange"] = StrategyStatus("cross_exchange", True)
    switch = gate(tmp_path, statuses, FakeClock())
    write_override(tmp_path, override(), force=False)
    assert switch.allows_new_order("cross_exchange") is DenialReason.KILL_SWITCH


def test_strategy_disable_until_expires(tmp_path: Path) -> None:
    clock = FakeClock()
    statuses = CountingStatuses()
    statuses.statuses["daily_trend"] = StrategyStatus("daily_trend", True, until_ms=NOW + 5_000)
    switch = gate(tmp_path, statuses, clock)
    assert switch.allows_new_order("daily_trend") is DenialReason.STRATEGY_DISABLED
    clock.now = NOW + 5_000
    assert switch.allows_new_order("daily_trend") is None


def test_statuses_are_cached_and_refreshed_at_most_every_interval(tmp_path: Path) -> None:
    clock = FakeClock()
    statuses = CountingStatuses()
    switch = gate(tmp_path, statuses, clock)
    assert statuses.reads == 1  # loaded once at start
    statuses.statuses["daily_trend"] = StrategyStatus("daily_trend", True)  # another process writes
    for _ in range(100):
        assert switch.allows_new_order("daily_trend") is None  # cached within the interval
    assert statuses.reads == 1
    clock.now += 10
    assert switch.allows_new_order("daily_trend") is DenialReason.STRATEGY_DISABLED
    assert statuses.reads == 2


def test_a_failing_store_keeps_the_last_known_statuses(tmp_path: Path) -> None:
    clock = FakeClock()
    state = {"fail": False}

    def source() -> Mapping[str, StrategyStatus]:
        if state["fail"]:
            raise OSError("database is locked")
        return {"daily_trend": StrategyStatus("daily_trend", True)}

    switch = KillSwitch(OverrideWatcher(tmp_path, clock), source, clock)
    state["fail"] = True
    clock.now += 50
    assert switch.allows_new_order("daily_trend") is DenialReason.STRATEGY_DISABLED
    assert switch.store_errors == 1


def test_disable_written_to_the_store_by_another_process_reaches_the_gate(tmp_path: Path) -> None:
    clock = FakeClock()
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    running, operator = SqlStateStore(url), SqlStateStore(url)  # scheduler and CLI connections
    try:
        switch = KillSwitch(OverrideWatcher(tmp_path / "overrides", clock), running, clock)
        assert switch.allows_new_order("mean_reversion") is None
        operator.set_strategy_status(
            StrategyStatus("mean_reversion", True, "bad fills", "INC-9", "ops", None, NOW)
        )
        clock.now += 10
        assert switch.allows_new_order("mean_reversion") is DenialReason.STRATEGY_DISABLED
        operator.set_strategy_status(
            StrategyStatus("mean_reversion", False, "fixed", "INC-9", "ops", None, NOW)
        )
        clock.now += 10
        assert switch.allows_new_order("mean_reversion") is None
    finally:
        running.close()
        operator.close()
