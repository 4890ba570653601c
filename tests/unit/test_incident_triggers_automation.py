"""IncidentAutomation: a fired trigger opens an incident and, per config, disables or halts."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tradeops.bootstrap.ops import OpsContext, assemble_ops_context
from tradeops.config.load import load_config
from tradeops.config.models import (
    ExchangeFailureTrigger,
    IncidentsConfig,
    IncidentTriggers,
    PnlDivergenceTrigger,
    ResourceBreachTrigger,
)
from tradeops.decision_log.keys import SigningKey
from tradeops.decision_log.reader import iter_entries
from tradeops.decision_log.rotation import rotate_log_key
from tradeops.decision_log.verify import verify_file
from tradeops.ops.incident_control import ListIncidents, ShowIncident, list_all, show
from tradeops.ops.incident_model import Incident
from tradeops.ops.incident_triggers import IncidentAutomation, strategies_on_venue
from tradeops.persistence.sql_store import SqlStateStore, sqlite_url
from tradeops.runtime.stats import Histogram, RuntimeStats

REPO = Path(__file__).resolve().parents[2]
ENVIRON = {"TRADEOPS_DECISION_LOG_KEY": "automation-secret"}
OPS_LOG = Path("audit/decision_logs/stage4.jsonl")
NOW = 1_800_000_000_000


@pytest.fixture
def environ() -> dict[str, str]:
    """The environment the context's key provider reads (changed in place by some tests)."""
    return dict(ENVIRON)


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]) -> Iterator[OpsContext]:
    monkeypatch.chdir(tmp_path)
    cfg = load_config(REPO / "config" / "core.yaml")
    store = SqlStateStore(sqlite_url(tmp_path / "state.sqlite"))
    context = assemble_ops_context(
        cfg,
        REPO / "config" / "core.yaml",
        "binance_paper",
        store,
        tmp_path / "var/runtime/overrides",
        clock_ms=lambda: NOW,
        environ=environ,
    )
    yield context
    context.close()


def triggers(**kwargs: object) -> IncidentsConfig:
    return IncidentsConfig(triggers=IncidentTriggers(**kwargs))  # type: ignore[arg-type]


def diverged_stats(*names: str) -> RuntimeStats:
    stats = RuntimeStats("binance_paper")
    for name in names:
        strategy = stats.strategy(name, "balanced")
        strategy.daily_loss_budget, strategy.day_pnl = Decimal("100"), Decimal("-450")
    return stats


def load_incident(ctx: OpsContext, incident_id: str) -> Incident:
    return show(ctx, ShowIncident(incident_id)).incident


def entries() -> list[dict]:
    return [e for _, e in iter_entries(OPS_LOG) if e["kind"] != "log_genesis"]


def test_alert_action_opens_a_critical_incident_with_figures(ctx: OpsContext) -> None:
    automation = IncidentAutomation(ctx, triggers())
    [outcome] = automation.on_tick(diverged_stats("cross_exchange"), NOW)

    assert outcome.error is None and outcome.disabled == () and not outcome.override_created
    incident = load_incident(ctx, outcome.incident_id or "")
    assert incident.severity == "critical" and incident.opened_by == "incident-automation"
    assert "cross_exchange" in incident.title and "4.50x" in incident.title
    assert incident.metadata["trigger"] == "pnl_divergence"
    assert incident.metadata["figures"]["divergence_ratio"] == 4.5
    assert ctx.store.strategy_statuses().get("cross_exchange") is None
    assert [e["kind"] for e in entries()] == ["incident"]
    assert automation.on_tick(diverged_stats("cross_exchange"), NOW + 1000) == []  # same episode


def test_disable_action_disables_the_strategy_under_the_incident_ticket(ctx: OpsContext) -> None:
    automation = IncidentAutomation(ctx, triggers(pnl_divergence=PnlDivergenceTrigger(action="disable")))
    [outcome] = automation.on_tick(diverged_stats("mean_reversion"), NOW)

    assert outcome.disabled == ("mean_reversion",)
    status = ctx.store.strategy_statuses()["mean_reversion"]
    assert (
        status.disabled
        and status.ticket == outcome.incident_id
        and status.requested_by == "incident-automation"
    )
    disable = entries()[-1]
    assert (disable["kind"], disable["status"]) == ("strategy_state", "disabled")
    assert disable["artefacts"]["ticket"] == outcome.incident_id
    assert (
        disable["metadata"]["risk_budget_bucket"] == "manual" and disable["metadata"]["via"] == "automation"
    )
    timeline = load_incident(ctx, outcome.incident_id or "").timeline
    assert [(e.kind, e.status) for e in timeline] == [("incident", "opened"), ("strategy_state", "disabled")]


def test_venue_failure_disables_every_strategy_trading_there(ctx: OpsContext) -> None:
    cfg = triggers(exchange_failures=ExchangeFailureTrigger(max_consecutive_errors=1, action="disable"))
    stats = RuntimeStats("binance_paper")
    for name in ("daily_trend", "cross_exchange"):
        stats.strategy(name, "balanced")
    stats.exchange_latency["bybit"] = Histogram()
    for _ in range(3):
        stats.exchange_latency["bybit"].observe(0.01)
    stats.exchange_errors[("bybit", "temporary")] = 3

    assert strategies_on_venue(ctx.cfg, "bybit", list(stats.strategies)) == ["cross_exchange"]
    [outcome] = IncidentAutomation(ctx, cfg).on_tick(stats, NOW)
    assert outcome.fired.key == "exchange_errors:bybit" and outcome.disabled == ("cross_exchange",)
    statuses = ctx.store.strategy_statuses()
    assert statuses["cross_exchange"].disabled and "daily_trend" not in statuses


def test_resource_breach_with_disable_writes_the_global_override(ctx: OpsContext) -> None:
    stats = RuntimeStats("binance_paper")
    stats.resources.breach_seconds = 1200.0
    automation = IncidentAutomation(ctx, triggers(resource_breach=ResourceBreachTrigger(action="disable")))
    [outcome] = automation.on_tick(stats, NOW)

    assert outcome.override_created
    path = ctx.overrides_dir / "multi_strategy_disable.json"
    document = json.loads(path.read_text())
    assert document["ticket"] == outcome.incident_id and document["requested_by"] == "incident-automation"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [(e["kind"], e["status"]) for e in entries()] == [("incident", "opened"), ("override", "disabled")]


def test_an_existing_override_is_left_alone(ctx: OpsContext) -> None:
    stats = RuntimeStats("binance_paper", override_active=True)
    stats.resources.breach_seconds = 1200.0
    automation = IncidentAutomation(ctx, triggers(resource_breach=ResourceBreachTrigger(action="disable")))
    [outcome] = automation.on_tick(stats, NOW)
    assert outcome.incident_id is not None and not outcome.override_created
    assert not (ctx.overrides_dir / "multi_strategy_disable.json").exists()


def test_an_incident_that_cannot_be_opened_is_retried_next_tick(
    ctx: OpsContext, environ: dict[str, str]
) -> None:
    environ.clear()  # no signing key: nothing may be written
    automation = IncidentAutomation(ctx, triggers(pnl_divergence=PnlDivergenceTrigger(action="disable")))
    [outcome] = automation.on_tick(diverged_stats("cross_exchange"), NOW)
    assert outcome.incident_id is None and outcome.error and "signing key" in outcome.error
    assert ctx.store.strategy_statuses().get("cross_exchange") is None

    environ.update(ENVIRON)  # the same context, not rebuilt: the key provider reads it when it signs
    [retried] = automation.on_tick(diverged_stats("cross_exchange"), NOW + 1000)
    assert retried.error is None and retried.disabled == ("cross_exchange",)
    assert [i.id for i in list_all(ctx, ListIncidents()).incidents] == [retried.incident_id]


def test_a_key_changed_in_the_environment_signs_the_next_open_without_a_new_context(
    ctx: OpsContext, environ: dict[str, str], tmp_path: Path
) -> None:
    automation = IncidentAutomation(ctx, triggers())
    [first] = automation.on_tick(diverged_stats("cross_exchange"), NOW)
    old = SigningKey(ctx.cfg.decision_log.key_id, ENVIRON["TRADEOPS_DECISION_LOG_KEY"].encode())
    new = SigningKey("rotated", b"rotated-secret-0123456789abcdef")
    rotate_log_key(OPS_LOG, old, new, reason="drill", max_line_bytes=ctx.cfg.decision_log.max_line_bytes)
    (tmp_path / "rotated.key").write_bytes(new.secret + b"\n")
    del environ["TRADEOPS_DECISION_LOG_KEY"]
    environ |= {"TRADEOPS_DECISION_LOG_KEY_FILE": str(tmp_path / "rotated.key"),
                "TRADEOPS_DECISION_LOG_KEY_ID": "rotated"}  # fmt: skip
    [second] = automation.on_tick(diverged_stats("mean_reversion"), NOW + 1000)

    assert first.error is None and second.error is None and first.incident_id != second.incident_id
    opened = [e for e in entries() if e["kind"] == "incident"]
    assert [(e["metadata"]["subject"], e["signature"]["key_id"]) for e in opened] == [
        ("cross_exchange", old.key_id),
        ("mean_reversion", "rotated"),
    ]
    assert verify_file(OPS_LOG, keyring={old.key_id: old, new.key_id: new}).ok
