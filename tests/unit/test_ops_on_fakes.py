"""The kill-switch and silence use cases driven through the in-memory ports only: what reaches
the override store, the ledger, the operations log and the Alertmanager."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tradeops.config.load import load_config
from tradeops.config.models import AppConfig
from tradeops.domain.errors import UserInputError
from tradeops.ops.alerting import silence_stage4_alerts, unsilence_alerts
from tradeops.ops.controls import LEDGER_PREFIX, Actor, create_override, remove_override, scheduler_status
from tradeops.ops.paper_smoke_ci import _decision_logs, _security
from tradeops.ops_ports import OpsContext
from tradeops.ops_ports.fakes import (
    FakeAlertManager,
    FakeFindings,
    FakeSecurityAudit,
    MemoryOperatorLog,
    MemoryOverrideStore,
    fake_ops_context,
)

REPO = Path(__file__).resolve().parents[2]
NOW = 1_772_366_400_000
OPERATOR = Actor("l2-ops", "cli")
URL = "http://alertmanager.test:9093"


@pytest.fixture(scope="module")
def cfg() -> AppConfig:
    return load_config(REPO / "config" / "core.yaml")


@pytest.fixture
def ctx(cfg: AppConfig) -> OpsContext:
    return fake_ops_context(cfg, now_ms=NOW)


def entries(ctx: OpsContext) -> list[tuple[str, str]]:
    assert isinstance(ctx.operator_log, MemoryOperatorLog)
    return [(e["kind"], e["status"]) for e in ctx.operator_log.entries]


def test_kill_switch_round_trip_on_the_fakes(ctx: OpsContext) -> None:
    info = create_override(ctx, reason="feed outage", ticket="INC-1", requested_by="l2-ops", actor=OPERATOR)
    assert isinstance(ctx.overrides, MemoryOverrideStore)
    assert list(ctx.overrides.documents) == ["multi_strategy_disable.json"]
    assert info.path == ctx.overrides.directory / "multi_strategy_disable.json" and not info.replaced
    assert scheduler_status(ctx).status == "disabled"
    ledger = json.loads(ctx.store.kv_get(LEDGER_PREFIX + "multi_strategy") or "{}")
    assert (ledger["status"], ledger["ticket"]) == ("disabled", "INC-1")

    assert remove_override(ctx, actor=OPERATOR, reason="feed back")
    assert ctx.overrides.documents == {} and scheduler_status(ctx).status == "enabled"
    assert entries(ctx) == [("override", "disabled"), ("override", "enabled")]
    assert not remove_override(ctx, actor=OPERATOR, reason="again")  # nothing left: nothing logged
    assert len(entries(ctx)) == 2


def test_silence_and_unsilence_go_through_the_alert_manager_port(ctx: OpsContext) -> None:
    result, _entry = silence_stage4_alerts(ctx, url=URL, duration="30m", ticket="INC-2", created_by="l2-ops")
    assert isinstance(ctx.alert_manager, FakeAlertManager)
    server = ctx.alert_manager.servers[URL]
    assert server.silences_by_id[result.silence_id]["status"] == {"state": "active"}
    assert result.starts_at.startswith("2026-03-01T12:00:00")  # from the context's clock

    unsilence_alerts(ctx, url=URL, silence_id=result.silence_id, expired_by="l2-ops")
    assert server.silences_by_id[result.silence_id]["status"] == {"state": "expired"}
    assert entries(ctx) == [("alert_silence", "silenced"), ("alert_silence", "expired")]


def test_a_silence_that_cannot_be_logged_is_expired_again(ctx: OpsContext) -> None:
    assert isinstance(ctx.operator_log, MemoryOperatorLog) and isinstance(ctx.alert_manager, FakeAlertManager)
    ctx.operator_log.fail = "disk full"
    with pytest.raises(UserInputError, match="was expired again"):
        silence_stage4_alerts(ctx, url=URL, duration="30m", ticket="INC-2", created_by="l2-ops")
    [silence] = ctx.alert_manager.servers[URL].silences()
    assert silence["status"] == {"state": "expired"}


def test_paper_smoke_checks_use_the_security_audit_and_key_ports(ctx: OpsContext, tmp_path: Path) -> None:
    ctx.security_audit = FakeSecurityAudit(FakeFindings("error", errors=("tls: no server certificate",)))
    assert _security(ctx) == {
        "status": "failed",
        "detail": "tls: no server certificate",
        "report_status": "error",
        "warnings": [],
    }
    assert ctx.security_audit.asked == [("runtime.schedule.write",)]
    assert ctx.keys.verification_keyring()  # the fake key verifies every key id
    assert _decision_logs(ctx)["status"] == "ok"
