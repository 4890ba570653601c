"""Operator use cases: state changes persist, and each appends exactly one signed decision-log entry."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tradeops.bootstrap.ops import OpsContext, build_ops_context
from tradeops.decision_log.keys import resolve_signing_key
from tradeops.decision_log.reader import iter_entries
from tradeops.decision_log.verify import verify_file
from tradeops.domain.errors import AlreadyExists, UserInputError
from tradeops.host.override_files import read_overrides
from tradeops.ops.controls import (
    Actor,
    create_override,
    disable_strategy,
    enable_strategy,
    list_schedules,
    reconcile_override_events,
    remove_override,
    scheduler_status,
)

REPO = Path(__file__).resolve().parents[2]
NOW = 1_772_366_400_000  # 2026-03-01T12:00:00Z
OPERATOR = Actor("l2-ops", "cli")
API = Actor("svc-scheduler", "api", token_id="scheduler-local", client_subject="CN=ops-console")


class FakeClock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY", "unit-test-key-0123456789")
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY_ID", "unit-test")
    monkeypatch.delenv("TRADEOPS_DECISION_LOG_KEY_FILE", raising=False)
    return tmp_path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ctx(workspace: Path, clock: FakeClock) -> Iterator[OpsContext]:
    context = build_ops_context()
    context.clock_ms = clock
    yield context
    context.close()


def entries(ctx: OpsContext) -> list[dict[str, Any]]:
    path = Path(ctx.cfg.decision_log.operations_log)
    if not path.exists():
        return []
    return [entry for _, entry in iter_entries(path) if entry["kind"] != "log_genesis"]


def test_disable_persists_and_logs_one_signed_entry(ctx: OpsContext, clock: FakeClock) -> None:
    status = disable_strategy(
        ctx,
        "cross_exchange",
        reason="spread feed broken",
        ticket="INC-7",
        actor=API,
        until_ms=NOW + 3_600_000,
    )
    assert status.disabled and status.requested_by == "svc-scheduler" and status.changed_ms == NOW
    [entry] = entries(ctx)
    assert (entry["kind"], entry["status"]) == ("strategy_state", "disabled")
    assert entry["artefacts"] == {"strategy": "cross_exchange", "ticket": "INC-7"}
    meta = entry["metadata"]
    assert meta["risk_budget_bucket"] == "manual" and meta["allocation"] == 0
    assert meta["previous_bucket"] == "balanced" and meta["previous_allocation"] == 0.15
    assert meta["reason"] == "spread feed broken" and meta["requested_by"] == "svc-scheduler"
    assert meta["token_id"] == "scheduler-local" and meta["client_subject"] == "CN=ops-console"
    assert meta["until"] == "2026-03-01T13:00:00Z"
    key = resolve_signing_key(key=None, key_file=None, key_id=None)
    assert key is not None
    assert verify_file(ctx.cfg.decision_log.operations_log, keyring={key.key_id: key}).ok

    reopened = build_ops_context()
    try:
        assert reopened.store.strategy_statuses()["cross_exchange"] == status
    finally:
        reopened.close()


def test_disabled_strategy_shows_allocation_zero_and_manual_bucket(ctx: OpsContext) -> None:
    disable_strategy(ctx, "mean_reversion", reason="bad fills", ticket="INC-8", actor=OPERATOR)
    rows = {row["schedule"]: row for row in list_schedules(ctx)}
    assert rows["mean_reversion"]["allocation"] == 0.0
    assert rows["mean_reversion"]["risk_budget_bucket"] == "manual" and rows["mean_reversion"]["disabled"]
    assert (
        rows["daily_trend"]["allocation"] == 0.35 and rows["daily_trend"]["risk_budget_bucket"] == "balanced"
    )
    status = scheduler_status(ctx)
    assert status.status == "enabled"  # the other strategies keep trading
    [shown] = status.disabled_strategies
    assert (shown["strategy"], shown["reason"], shown["requested_by"], shown["until"]) == (
        "mean_reversion",
        "bad fills",
        "l2-ops",
        None,
    )


def test_enable_restores_the_profile_bucket_and_logs_restored(ctx: OpsContext) -> None:
    disable_strategy(ctx, "daily_trend", reason="drill", ticket="CHG-1", actor=OPERATOR)
    status = enable_strategy(ctx, "daily_trend", reason="drill over", ticket="CHG-1", actor=OPERATOR)
    assert not status.disabled
    restored = entries(ctx)[-1]
    assert (restored["kind"], restored["status"]) == ("strategy_state", "restored")
    assert restored["metadata"]["risk_budget_bucket"] == "balanced"
    assert restored["metadata"]["allocation"] == 0.35 and restored["metadata"]["previous_bucket"] == "manual"
    enable_strategy(ctx, "daily_trend", reason="again", ticket="CHG-1", actor=OPERATOR)
    assert len(entries(ctx)) == 2  # enabling an enabled strategy is not a state change


def test_unknown_strategy_lists_the_valid_names_and_changes_nothing(ctx: OpsContext) -> None:
    with pytest.raises(UserInputError) as caught:
        disable_strategy(ctx, "grid_bot", reason="x", ticket="T", actor=OPERATOR)
    message = str(caught.value)
    assert "grid_bot" in message and "\n" not in message
    for name in ("daily_trend", "mean_reversion", "volatility_target", "cross_exchange"):
        assert name in message
    with pytest.raises(UserInputError):
        enable_strategy(ctx, "grid_bot", reason="x", ticket="T", actor=OPERATOR)
    assert entries(ctx) == [] and ctx.store.strategy_statuses() == {}


def test_without_a_signing_key_nothing_changes(ctx: OpsContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRADEOPS_DECISION_LOG_KEY")
    with pytest.raises(UserInputError, match="TRADEOPS_DECISION_LOG_KEY"):
        disable_strategy(ctx, "daily_trend", reason="x", ticket="T", actor=OPERATOR)
    with pytest.raises(UserInputError, match="TRADEOPS_DECISION_LOG_KEY"):
        create_override(ctx, reason="x", ticket="T", requested_by="ops", actor=OPERATOR)
    assert ctx.store.strategy_statuses() == {}
    assert not (ctx.overrides_dir / "multi_strategy_disable.json").exists()


def test_disable_until_in_the_past_is_refused(ctx: OpsContext) -> None:
    with pytest.raises(UserInputError, match="future"):
        disable_strategy(ctx, "daily_trend", reason="x", ticket="T", actor=OPERATOR, until_ms=NOW - 1)


def test_every_strategy_disabled_means_the_scheduler_is_disabled(ctx: OpsContext) -> None:
    for name in ctx.cfg.scheduler().schedules:
        disable_strategy(ctx, name, reason="maintenance", ticket="CHG-2", actor=OPERATOR)
    status = scheduler_status(ctx)
    assert status.status == "disabled" and "every scheduled strategy is disabled" in status.reasons


def test_create_override_writes_the_file_and_logs_disabled(ctx: OpsContext) -> None:
    info = create_override(
        ctx, reason="feed outage", ticket="INC-42", requested_by="l2-ops", actor=OPERATOR, duration_minutes=30
    )
    written = json.loads(info.path.read_text())
    assert written["expires_at"] == "2026-03-01T12:30:00Z" and written["timestamp"] == "2026-03-01T12:00:00Z"
    assert written["on_disable"] == {"cancel_open_orders": True, "positions": "hold"}
    [entry] = entries(ctx)
    assert (entry["kind"], entry["status"]) == ("override", "disabled")
    meta = entry["metadata"]
    assert meta["action"] == "disable_multi_strategy" and meta["reason"] == "feed outage"
    assert meta["expires_at"] == "2026-03-01T12:30:00Z" and meta["forced"] is False
    assert meta["on_disable"] == {"cancel_open_orders": True, "positions": "hold"}
    assert entry["artefacts"]["ticket"] == "INC-42"
    status = scheduler_status(ctx)
    assert status.status == "disabled" and status.override is not None
    assert (
        status.override["requested_by"] == "l2-ops"
        and status.override["expires_at"] == "2026-03-01T12:30:00Z"
    )


def test_second_override_is_refused_unless_forced(ctx: OpsContext) -> None:
    create_override(ctx, reason="first", ticket="INC-1", requested_by="ops", actor=OPERATOR)
    with pytest.raises(AlreadyExists):
        create_override(ctx, reason="second", ticket="INC-2", requested_by="ops", actor=OPERATOR)
    assert len(entries(ctx)) == 1
    info = create_override(
        ctx,
        reason="second",
        ticket="INC-2",
        requested_by="ops",
        actor=OPERATOR,
        force=True,
        positions="flatten",
    )
    assert info.replaced and json.loads(info.path.read_text())["forced"] is True
    entry = entries(ctx)[-1]
    assert entry["metadata"]["forced"] is True and entry["metadata"]["replaced"] is True
    assert entry["metadata"]["replaced_override"]["reason"] == "first"
    assert entry["metadata"]["on_disable"]["positions"] == "flatten"


def test_override_input_errors(ctx: OpsContext) -> None:
    with pytest.raises(UserInputError, match="reason"):
        create_override(ctx, reason="  ", ticket="T", requested_by="ops", actor=OPERATOR)
    with pytest.raises(UserInputError, match="component"):
        create_override(ctx, reason="r", ticket="T", requested_by="ops", actor=OPERATOR, component="web")
    with pytest.raises(UserInputError, match="duration"):
        create_override(ctx, reason="r", ticket="T", requested_by="ops", actor=OPERATOR, duration_minutes=0)
    assert entries(ctx) == [] and not ctx.overrides_dir.exists()


def test_remove_override_logs_enabled_once(ctx: OpsContext) -> None:
    assert remove_override(ctx, actor=OPERATOR) is False
    create_override(ctx, reason="feed outage", ticket="INC-42", requested_by="ops", actor=OPERATOR)
    assert remove_override(ctx, actor=OPERATOR, reason="feed back") is True
    assert scheduler_status(ctx).status == "enabled"
    assert [(e["kind"], e["status"]) for e in entries(ctx)] == [
        ("override", "disabled"),
        ("override", "enabled"),
    ]
    assert entries(ctx)[-1]["metadata"]["reason"] == "feed back"
    reconcile_override_events(ctx, read_overrides(ctx.overrides_dir, NOW))  # a watcher sees the removal
    assert len(entries(ctx)) == 2


def test_manual_rm_is_logged_once_across_schedulers(ctx: OpsContext, clock: FakeClock) -> None:
    info = create_override(ctx, reason="feed outage", ticket="INC-42", requested_by="ops", actor=OPERATOR)
    other = build_ops_context()  # a second scheduler process on the same state store
    other.clock_ms = clock
    try:
        reconcile_override_events(ctx, read_overrides(ctx.overrides_dir, NOW))
        assert len(entries(ctx)) == 1  # the file we logged ourselves is not news
        info.path.unlink()
        for context in (ctx, other, ctx):
            reconcile_override_events(context, read_overrides(ctx.overrides_dir, NOW))
    finally:
        other.close()
    removed = entries(ctx)[-1]
    assert len(entries(ctx)) == 2 and (removed["kind"], removed["status"]) == ("override", "enabled")
    assert "removed" in removed["metadata"]["event"]


def test_expiry_is_logged_once(ctx: OpsContext, clock: FakeClock) -> None:
    create_override(
        ctx, reason="short", ticket="INC-5", requested_by="ops", actor=OPERATOR, duration_minutes=5
    )
    clock.now = NOW + 5 * 60_000
    assert scheduler_status(ctx).status == "enabled"
    assert scheduler_status(ctx).override["expired"] is True  # type: ignore[index]
    for _ in range(2):
        reconcile_override_events(ctx, read_overrides(ctx.overrides_dir, clock.now))
    assert [e["status"] for e in entries(ctx)] == ["disabled", "expired"]
    assert entries(ctx)[-1]["metadata"]["reason"] == "short"


def test_files_from_outside_tradeops_are_logged(ctx: OpsContext) -> None:
    ctx.overrides_dir.mkdir(parents=True)
    path = ctx.overrides_dir / "multi_strategy_disable.json"
    path.write_text("{not json")
    path.chmod(0o600)
    status = scheduler_status(ctx)
    assert status.status == "disabled" and status.override is not None and status.override["malformed"]
    reconcile_override_events(ctx, read_overrides(ctx.overrides_dir, NOW))
    reconcile_override_events(ctx, read_overrides(ctx.overrides_dir, NOW))
    [entry] = entries(ctx)
    assert entry["status"] == "malformed" and "not valid JSON" in entry["metadata"]["problem"]
    path.unlink()
    reconcile_override_events(ctx, read_overrides(ctx.overrides_dir, NOW))
    assert [e["status"] for e in entries(ctx)] == ["malformed", "enabled"]
