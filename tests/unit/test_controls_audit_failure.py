"""An unwritable operations log never lets trading halt or resume without a record: commands say
exactly what took effect (exit 4), trading stays halted until a resume is recorded, and every
event is written once when the log is writable again."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradeops.bootstrap.kill_switch_wiring import resume_pending
from tradeops.bootstrap.ops import OpsContext, build_ops_context
from tradeops.decision_log.reader import iter_entries
from tradeops.domain.errors import AuditWriteFailed
from tradeops.domain.events import DenialReason
from tradeops.host.override_files import read_overrides
from tradeops.host.override_watcher import OverrideWatcher
from tradeops.ops.controls import Actor, create_override, reconcile_override_events, remove_override
from tradeops.runtime.kill_switch import KillSwitch

REPO = Path(__file__).resolve().parents[2]
NOW = 1_772_366_400_000
OPERATOR = Actor("l2-ops", "cli")


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpsContext]:
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY", "unit-test-key-0123456789")
    monkeypatch.delenv("TRADEOPS_DECISION_LOG_KEY_FILE", raising=False)
    # The operations log lives under a directory that can be blocked (root ignores chmod).
    context = build_ops_context(operations_log=tmp_path / "ops" / "stage4.jsonl")
    context.clock_ms = lambda: NOW
    yield context
    context.close()


def block(ctx: OpsContext) -> None:
    """Make the log unwritable: its directory becomes a plain file."""
    assert ctx.operations_log is not None
    shutil.rmtree(ctx.operations_log.parent, ignore_errors=True)
    ctx.operations_log.parent.write_text("not a directory")


def unblock(ctx: OpsContext, saved: bytes | None = None, anchor: bytes | None = None) -> None:
    assert ctx.operations_log is not None
    ctx.operations_log.parent.unlink()
    ctx.operations_log.parent.mkdir()
    if saved is not None and anchor is not None:
        ctx.operations_log.write_bytes(saved)
        ctx.operations_log.with_name(ctx.operations_log.name + ".anchor").write_bytes(anchor)


def events(ctx: OpsContext) -> list[str]:
    assert ctx.operations_log is not None
    if not ctx.operations_log.is_file():
        return []
    return [e["status"] for _, e in iter_entries(ctx.operations_log) if e["kind"] == "override"]


def gate(ctx: OpsContext) -> KillSwitch:
    watcher = OverrideWatcher(ctx.overrides_dir, lambda: NOW, poll_interval_ms=10)  # not started
    return KillSwitch(watcher, ctx.store, lambda: NOW, refresh_ms=0, resume_pending=resume_pending(ctx.store))


def reconcile(ctx: OpsContext) -> None:
    reconcile_override_events(ctx, read_overrides(ctx.overrides_dir, NOW))


def saved_log(ctx: OpsContext) -> tuple[bytes, bytes]:
    assert ctx.operations_log is not None
    anchor = ctx.operations_log.with_name(ctx.operations_log.name + ".anchor")
    return ctx.operations_log.read_bytes(), anchor.read_bytes()


def test_a_halt_is_in_force_and_says_its_entry_is_missing(ctx: OpsContext) -> None:
    block(ctx)
    with pytest.raises(AuditWriteFailed) as excinfo:
        create_override(ctx, reason="drill", ticket="INC-1", requested_by="ops", actor=OPERATOR)
    assert excinfo.value.exit_code == 4
    assert str(excinfo.value).startswith("override written and in force (")
    assert "its audit entry could NOT be written" in str(excinfo.value)
    assert gate(ctx).allows_new_order("daily_trend") is DenialReason.KILL_SWITCH
    unblock(ctx)
    for _ in range(2):  # the running scheduler records it, once
        reconcile(ctx)
    assert events(ctx) == ["disabled"]


def test_rm_while_the_log_is_unwritable_keeps_trading_halted_until_recorded(ctx: OpsContext) -> None:
    info = create_override(ctx, reason="drill", ticket="INC-2", requested_by="ops", actor=OPERATOR)
    saved, anchor = saved_log(ctx)
    switch = gate(ctx)
    assert switch.allows_new_order("daily_trend") is DenialReason.KILL_SWITCH
    info.path.unlink()  # `rm var/runtime/overrides/multi_strategy_disable.json`
    block(ctx)
    for _ in range(3):
        with pytest.raises(Exception, match="cannot open"):
            reconcile(ctx)
        assert switch.allows_new_order("daily_trend") is DenialReason.KILL_SWITCH  # no record: halted
    unblock(ctx, saved, anchor)
    for _ in range(3):
        reconcile(ctx)
    assert events(ctx) == ["disabled", "enabled"]  # the removal written once
    assert switch.allows_new_order("daily_trend") is None


def test_remove_says_trading_stays_halted_when_its_entry_fails(
    ctx: OpsContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_override(ctx, reason="drill", ticket="INC-3", requested_by="ops", actor=OPERATOR)
    saved, anchor = saved_log(ctx)
    switch = gate(ctx)
    switch.allows_new_order("daily_trend")
    # The pre-check and the rm succeed; the log becomes unwritable just before the entry.
    from tradeops.ops import override_controls

    original = override_controls._record_removal

    def disk_goes_away(*args: object, **kwargs: object) -> None:
        block(ctx)
        original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(override_controls, "_record_removal", disk_goes_away)
    with pytest.raises(AuditWriteFailed) as excinfo:
        remove_override(ctx, actor=OPERATOR, reason="done")
    message = str(excinfo.value)
    assert "removed, but trading stays halted" in message and "could NOT be written" in message
    assert switch.allows_new_order("daily_trend") is DenialReason.KILL_SWITCH
    unblock(ctx, saved, anchor)
    reconcile(ctx)
    reconcile(ctx)
    assert events(ctx) == ["disabled", "enabled"]
    assert switch.allows_new_order("daily_trend") is None
