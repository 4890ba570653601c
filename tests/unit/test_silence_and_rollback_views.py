"""The console's silence commands and the rollback checklist view, on the in-memory ports: what
reaches the Alertmanager and the operations log, and how a rollback record reads back."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeops.config.load import load_config
from tradeops.domain.errors import UserInputError
from tradeops.ops.control_common import Door
from tradeops.ops.read_rollback import RollbackQuery, read_rollback
from tradeops.ops.rollback.checklist import RESTORE_STEPS, ROLLBACK_STEPS
from tradeops.ops.rollback.state import RollbackState
from tradeops.ops.silence_control import CreateSilence, ExpireSilence, create, expire
from tradeops.ops_ports import OpsContext
from tradeops.ops_ports.fakes import FakeAlertManager, MemoryOperatorLog, fake_ops_context

REPO = Path(__file__).resolve().parents[2]
URL = "http://alertmanager.test:9093"
DOOR = Door("api", "oncall", "oncall", "CN=operator")


@pytest.fixture
def ctx() -> OpsContext:
    ctx = fake_ops_context(load_config(REPO / "config" / "core.yaml"), now_ms=1_772_366_400_000)
    ctx.environ = {"TRADEOPS_ALERTMANAGER_URL": URL}
    return ctx


def test_create_then_expire_signs_two_entries_with_reason_ticket_and_token(ctx: OpsContext) -> None:
    created = create(ctx, CreateSilence("venue maintenance", "CHG-1", DOOR, duration="30m"))
    assert isinstance(ctx.alert_manager, FakeAlertManager)
    server = ctx.alert_manager.servers[URL]
    assert server.silences_by_id[created.silence_id]["comment"] == "CHG-1: venue maintenance"
    assert created.matchers == ("stage=stage4",) and created.state == "active"

    expired = expire(ctx, ExpireSilence(created.silence_id, "done", "CHG-1", DOOR))
    assert expired.matchers == ("stage=stage4",)
    assert expired.state == "expired" and expired.entry_seq == (created.entry_seq or 0) + 1
    assert isinstance(ctx.operator_log, MemoryOperatorLog)
    logged = [
        (e["status"], e["artefacts"]["ticket"], e["metadata"]["reason"], e["metadata"]["token_id"])
        for e in ctx.operator_log.entries
    ]
    assert logged == [
        ("silenced", "CHG-1", "venue maintenance", "oncall"),
        ("expired", "CHG-1", "done", "oncall"),
    ]


@pytest.mark.parametrize(("reason", "ticket", "problem"), [(" ", "CHG-1", "reason"), ("why", "", "ticket")])
def test_blank_reason_or_ticket_creates_nothing(
    ctx: OpsContext, reason: str, ticket: str, problem: str
) -> None:
    with pytest.raises(UserInputError, match=problem):
        create(ctx, CreateSilence(reason, ticket, DOOR))
    assert isinstance(ctx.alert_manager, FakeAlertManager)
    assert all(not s.silences() for s in ctx.alert_manager.servers.values())


def test_no_alertmanager_configured_is_refused(ctx: OpsContext) -> None:
    ctx.environ = {}
    with pytest.raises(UserInputError, match="no Alertmanager configured"):
        create(ctx, CreateSilence("why", "CHG-1", DOOR))


def test_rollback_checklist_reads_done_and_next_steps(ctx: OpsContext, tmp_path: Path) -> None:
    path = tmp_path / "rollback_state.json"
    assert read_rollback(ctx, RollbackQuery(path)).present is False
    state = RollbackState(
        "INC-9", "bad fills", "l2-ops", "strategy", "mean_reversion", "2026-03-01T12:00:00+00:00"
    )
    state.record("confirm", {"confirmed": True})
    state.record("secure_context", {"audit": "ok", "details": ["not", "scalar"]})
    state.save(path)
    view = read_rollback(ctx, RollbackQuery(path))
    assert (view.ticket, view.status, view.next_step) == ("INC-9", "in_progress", "disable")
    assert [s.step for s in view.steps] == [*ROLLBACK_STEPS, *RESTORE_STEPS]
    assert [s.step for s in view.steps if s.done] == ["confirm", "secure_context"]
    assert view.steps[1].result == {"audit": "ok"} and view.steps[1].at is not None

    state.completed = {name: {"at": "t"} for name in ROLLBACK_STEPS}
    state.status = "completed"
    state.save(path)
    assert read_rollback(ctx, RollbackQuery(path)).next_step == RESTORE_STEPS[0]


def test_an_unreadable_rollback_record_is_an_error_not_absence(ctx: OpsContext, tmp_path: Path) -> None:
    path = tmp_path / "rollback_state.json"
    path.write_text("{not json", encoding="utf-8")
    view = read_rollback(ctx, RollbackQuery(path))
    assert view.present and view.error is not None and "unreadable rollback state" in view.error
