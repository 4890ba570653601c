"""Incident use cases on the file adapters (`bootstrap.incident_records.incident_context`): signed
log entries per change, records rebuilt from the logs, state rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tradeops.bootstrap.incident_records import incident_context
from tradeops.bootstrap.operator_log import open_operator_log
from tradeops.config.load import load_config
from tradeops.config.models import AppConfig
from tradeops.decision_log.keys import SigningKey
from tradeops.decision_log.reader import iter_entries
from tradeops.decision_log.verify import verify_file
from tradeops.decision_log.writer import DecisionLogWriter
from tradeops.domain.errors import AlreadyExists, UserInputError
from tradeops.ops import incident_control as use
from tradeops.ops.control_common import Door
from tradeops.ops.incident_model import Incident, IncidentStateError, incident_id_from_ticket
from tradeops.ops.incident_render import render_markdown
from tradeops.ops_ports import OpsContext

REPO = Path(__file__).resolve().parents[2]
SECRET = "incident-test-secret"
ENVIRON = {"TRADEOPS_DECISION_LOG_KEY": SECRET}
OPS_LOG = Path("audit/decision_logs/stage4.jsonl")
ENV_LOG = Path("audit/decision_logs/binance_paper.jsonl")
INCIDENTS = Path("logs/incidents")


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppConfig:
    monkeypatch.chdir(tmp_path)
    return load_config(REPO / "config" / "core.yaml")


def entries(path: Path = OPS_LOG) -> list[dict]:
    if not path.exists():
        return []
    return [entry for _, entry in iter_entries(path) if entry["kind"] != "log_genesis"]


def incident_entries() -> list[dict]:
    return [e for e in entries() if e["kind"] == "incident"]


def log_action(cfg: AppConfig, kind: str, status: str, **artefacts: object) -> None:
    open_operator_log(cfg, ENVIRON).append(kind=kind, status=status, artefacts=artefacts)


def context(
    cfg: AppConfig,
    environment: str | None = None,
    environ: dict[str, str] = ENVIRON,
    now_ms: int | None = None,
) -> OpsContext:
    clock = None if now_ms is None else (lambda: now_ms)
    return incident_context(cfg, REPO / "config/core.yaml", environment, environ=environ, clock_ms=clock)


def open_incident(
    cfg: AppConfig,
    *,
    title: str,
    severity: str,
    ticket: str | None,
    opened_by: str = "operator",
    metadata: dict[str, object] | None = None,
    environ: dict[str, str] = ENVIRON,
    now_ms: int | None = None,
) -> Incident:
    command = use.OpenIncident(title, severity, Door("cli", opened_by), ticket, opened_by, metadata or {})
    with context(cfg, environ=environ, now_ms=now_ms) as ctx:
        return use.open_(ctx, command).incident


def open_one(cfg: AppConfig, ticket: str | None = "INC-42", **kwargs: object) -> Incident:
    args = {"title": "cross_exchange PnL diverged", "severity": "critical", "opened_by": "l2"} | kwargs
    return open_incident(cfg, ticket=ticket, **args)  # type: ignore[arg-type]


def add_note(cfg: AppConfig, incident_id: str, *, text: str, by: str = "operator") -> Incident:
    with context(cfg) as ctx:
        return use.note(ctx, use.NoteIncident(incident_id, text, Door("cli", by), by)).incident


def close_incident(cfg: AppConfig, incident_id: str, *, status: str, summary: str = "") -> Incident:
    command = use.CloseIncident(incident_id, status, Door("cli", "operator"), summary, "operator")
    with context(cfg) as ctx:
        return use.close(ctx, command).incident


def ensure_incident(cfg: AppConfig, *, ticket: str, title: str, severity: str, opened_by: str) -> str:
    with context(cfg) as ctx:
        command = use.OpenIncident(title, severity, Door("cli", opened_by), ticket, opened_by)
        return use.ensure_open(ctx, command)


def list_incidents(cfg: AppConfig, *, open_only: bool = False) -> list[Incident]:
    with context(cfg) as ctx:
        return list(use.list_all(ctx, use.ListIncidents(open_only)).incidents)


def load_incident(
    cfg: AppConfig, incident_id: str, *, environment: str | None = None, refresh: bool = False
) -> Incident:
    with context(cfg, environment) as ctx:
        return use.show(ctx, use.ShowIncident(incident_id, refresh)).incident


def test_open_writes_one_signed_entry_and_both_records(cfg: AppConfig) -> None:
    incident = open_one(cfg)

    assert incident.id == "INC-42" and incident.is_open
    [entry] = entries()
    assert (entry["kind"], entry["status"]) == ("incident", "opened")
    assert entry["artefacts"] == {"incident_id": "INC-42", "ticket": "INC-42"}
    assert entry["metadata"]["severity"] == "critical" and entry["metadata"]["opened_by"] == "l2"
    result = verify_file(OPS_LOG, keyring={"tradeops-ops": SigningKey("tradeops-ops", SECRET.encode())})
    assert result.ok and result.entries == 2 and result.unsigned == 0
    record = json.loads((INCIDENTS / "INC-42.json").read_text())
    assert record["status"] == "open" and record["title"] == "cross_exchange PnL diverged"
    assert record["timeline"][0]["status"] == "opened"
    markdown = (INCIDENTS / "INC-42.md").read_text()
    assert markdown.startswith("# INC-42: cross_exchange PnL diverged")
    assert "| Time (UTC) | Kind | Status | What | By | Source |" in markdown


def test_opening_an_open_id_fails_with_exit_1_and_logs_nothing(cfg: AppConfig) -> None:
    open_one(cfg)
    with pytest.raises(AlreadyExists, match="INC-42 is already open") as caught:
        open_one(cfg, title="again")
    assert caught.value.exit_code == 1
    assert len(entries()) == 1


def test_ticket_is_sanitised_and_path_separators_are_refused(cfg: AppConfig) -> None:
    assert incident_id_from_ticket(" JIRA 1234: db ") == "JIRA-1234-db"
    assert open_one(cfg, ticket="JIRA 1234").id == "JIRA-1234"
    for bad in ("../etc/passwd", "a\\b", "...", "  "):
        with pytest.raises(UserInputError):
            open_one(cfg, ticket=bad)
    assert sorted(p.name for p in INCIDENTS.iterdir() if not p.name.startswith(".")) == [
        "JIRA-1234.json",
        "JIRA-1234.md",
    ]
    assert len(entries()) == 1


def test_generated_ids_count_up_per_utc_day(cfg: AppConfig) -> None:
    day = int(datetime(2026, 3, 1, 23, 59, tzinfo=UTC).timestamp() * 1000)
    first = open_one(cfg, ticket=None, now_ms=day)
    second = open_one(cfg, ticket=None, now_ms=day)
    next_day = open_one(cfg, ticket=None, now_ms=day + 120_000)
    assert [first.id, second.id, next_day.id] == ["INC-20260301-001", "INC-20260301-002", "INC-20260302-001"]
    assert entries()[0]["artefacts"] == {"incident_id": "INC-20260301-001", "ticket": None}


def test_bad_title_or_severity_is_a_user_error(cfg: AppConfig) -> None:
    with pytest.raises(UserInputError, match="--severity"):
        open_one(cfg, severity="urgent")
    with pytest.raises(UserInputError, match="--title"):
        open_one(cfg, title="  ")
    assert not OPS_LOG.exists()


def test_without_a_signing_key_nothing_is_recorded(cfg: AppConfig) -> None:
    with pytest.raises(UserInputError, match="signing key"):
        open_incident(cfg, title="t", severity="low", ticket="T-1", environ={})
    assert not OPS_LOG.exists() or entries() == []
    assert not (INCIDENTS / "T-1.json").exists()


def test_note_and_close_each_append_one_entry(cfg: AppConfig) -> None:
    open_one(cfg)
    noted = add_note(cfg, "INC-42", text="disabled cross_exchange", by="alice")
    closed = close_incident(cfg, "INC-42", status="restored", summary="back to baseline")

    assert [e["status"] for e in entries()] == ["opened", "noted", "restored"]
    assert all(e["artefacts"] == {"incident_id": "INC-42", "ticket": "INC-42"} for e in entries())
    assert [(n.by, n.text) for n in noted.notes] == [("alice", "disabled cross_exchange")]
    assert not closed.is_open and closed.resolution == "restored" and closed.summary == "back to baseline"
    record = json.loads((INCIDENTS / "INC-42.json").read_text())
    assert record["status"] == "closed" and record["resolution"] == "restored"
    assert "- " in (INCIDENTS / "INC-42.md").read_text().split("## Notes")[1]


def test_close_other_than_restored_logs_status_closed(cfg: AppConfig) -> None:
    open_one(cfg)
    close_incident(cfg, "INC-42", status="false_alarm")
    last = entries()[-1]
    assert last["status"] == "closed" and last["metadata"]["resolution"] == "false_alarm"


def test_closing_a_closed_incident_fails_with_exit_1(cfg: AppConfig) -> None:
    open_one(cfg)
    close_incident(cfg, "INC-42", status="mitigated")
    with pytest.raises(IncidentStateError, match="already closed") as caught:
        close_incident(cfg, "INC-42", status="restored")
    assert caught.value.exit_code == 1
    assert len(entries()) == 2


def test_unknown_incident_and_bad_close_status(cfg: AppConfig) -> None:
    with pytest.raises(UserInputError, match="not found"):
        add_note(cfg, "INC-404", text="x")
    open_one(cfg)
    with pytest.raises(UserInputError, match="--status"):
        close_incident(cfg, "INC-42", status="done")
    with pytest.raises(UserInputError, match="--text"):
        add_note(cfg, "INC-42", text=" ")


def test_notes_are_allowed_after_closing(cfg: AppConfig) -> None:
    open_one(cfg)
    close_incident(cfg, "INC-42", status="restored")
    incident = add_note(cfg, "INC-42", text="post-mortem: alert threshold too high")
    assert not incident.is_open and incident.notes[-1].text.startswith("post-mortem")


def test_a_closed_incident_can_be_reopened_and_keeps_its_notes(cfg: AppConfig) -> None:
    open_one(cfg)
    add_note(cfg, "INC-42", text="first")
    close_incident(cfg, "INC-42", status="mitigated")
    reopened = open_one(cfg, title="came back")
    assert (
        reopened.is_open and reopened.title == "came back" and [n.text for n in reopened.notes] == ["first"]
    )


def test_ensure_incident_opens_once(cfg: AppConfig) -> None:
    args = {
        "ticket": "OPS-7",
        "title": "rollback",
        "severity": "critical",
        "opened_by": "l2",
    }
    assert ensure_incident(cfg, **args) == "OPS-7"  # type: ignore[arg-type]
    assert ensure_incident(cfg, **args) == "OPS-7"  # type: ignore[arg-type]
    assert [e["status"] for e in incident_entries()] == ["opened"]
    close_incident(cfg, "OPS-7", status="restored")
    assert ensure_incident(cfg, **args) == "OPS-7"  # type: ignore[arg-type]
    assert [e["status"] for e in incident_entries()] == ["opened", "restored", "opened"]


def test_timeline_gathers_operator_actions_of_the_open_period(cfg: AppConfig) -> None:
    log_action(cfg, "strategy_state", "disabled", strategy="mean_reversion", ticket="OTHER")  # before: no
    log_action(cfg, "override", "disabled", component="multi_strategy", ticket="INC-42")  # names the ticket
    open_one(cfg)
    log_action(cfg, "strategy_state", "disabled", strategy="cross_exchange", ticket="X")
    log_action(cfg, "alert_silence", "created", silence_id="abc", ticket="X")
    log_action(cfg, "fill", "filled", order="o-1")  # not an operator action: no
    log_action(cfg, "load_test", "ok", report="logs/load_tests/pre_rollback.json")
    log_action(cfg, "config_change", "applied", path="config/core.yaml")
    open_one(cfg, ticket="INC-43", title="other incident")  # another incident's entry: no
    close_incident(cfg, "INC-42", status="restored")
    log_action(cfg, "strategy_state", "restored", strategy="cross_exchange", ticket="X")  # after close: no
    log_action(cfg, "snapshot", "rollback_completed", incident_id="INC-42")  # names the id: yes

    incident = load_incident(cfg, "INC-42")
    got = [(e.kind, e.status) for e in incident.timeline]
    assert got == [
        ("override", "disabled"),
        ("incident", "opened"),
        ("strategy_state", "disabled"),
        ("alert_silence", "created"),
        ("load_test", "ok"),
        ("config_change", "applied"),
        ("incident", "restored"),
        ("snapshot", "rollback_completed"),
    ]
    assert "strategy=cross_exchange" in incident.timeline[2].what
    assert incident.timeline[2].source == "stage4.jsonl:5"


def test_timeline_includes_the_environment_log_inside_the_period(cfg: AppConfig) -> None:
    key = SigningKey("tradeops-ops", SECRET.encode())
    with DecisionLogWriter(ENV_LOG, key) as writer:
        writer.append(kind="trading_state", stage="runtime", status="halted", artefacts={"scope": "global"},
                      timestamp="2020-01-01T00:00:00+00:00")  # fmt: skip
        writer.append(kind="order", stage="runtime", status="noted", artefacts={"ticket": "INC-42"},
                      timestamp="2020-01-01T00:00:01+00:00")  # fmt: skip
    open_one(cfg)
    with DecisionLogWriter(ENV_LOG, key) as writer:
        writer.append(kind="trading_state", stage="runtime", status="reducing", artefacts={"scope": "global"})
        writer.append(kind="fill", stage="runtime", status="filled", artefacts={"order": "o-1"})
    close_incident(cfg, "INC-42", status="restored")
    with DecisionLogWriter(ENV_LOG, key) as writer:
        writer.append(kind="trading_state", stage="runtime", status="active", artefacts={"scope": "global"})

    incident = load_incident(cfg, "INC-42", environment="binance_paper")
    got = [(e.kind, e.status, e.source) for e in incident.timeline]
    assert got == [
        ("order", "noted", "binance_paper.jsonl:3"),  # names the ticket: kept although earlier
        ("incident", "opened", "stage4.jsonl:2"),
        ("trading_state", "reducing", "binance_paper.jsonl:4"),
        ("incident", "restored", "stage4.jsonl:3"),
    ]


def test_records_are_rebuilt_from_the_log(cfg: AppConfig) -> None:
    open_one(cfg)
    log_action(cfg, "strategy_state", "disabled", strategy="cross_exchange", ticket="INC-42")
    for path in INCIDENTS.glob("INC-42.*"):
        path.unlink()
    assert [i.id for i in list_incidents(cfg)] == ["INC-42"]
    incident = load_incident(cfg, "INC-42", refresh=True)
    assert [e.kind for e in incident.timeline] == ["incident", "strategy_state"]
    record = json.loads((INCIDENTS / "INC-42.json").read_text())
    assert [e["kind"] for e in record["timeline"]] == ["incident", "strategy_state"]
    assert "strategy=cross_exchange" in (INCIDENTS / "INC-42.md").read_text()


def test_list_filters_open_incidents(cfg: AppConfig) -> None:
    open_one(cfg, ticket="A-1")
    open_one(cfg, ticket="B-2")
    close_incident(cfg, "A-1", status="restored")
    assert [i.id for i in list_incidents(cfg)] == ["A-1", "B-2"]
    assert [i.id for i in list_incidents(cfg, open_only=True)] == ["B-2"]


def test_markdown_escapes_table_cells(cfg: AppConfig) -> None:
    incident = open_one(cfg, title="a | b")
    text = render_markdown(incident)
    assert "| Status | open |" in text
    assert "opened: a \\| b (critical)" in text


def test_caller_metadata_is_kept_but_cannot_replace_the_opening_fields(cfg: AppConfig) -> None:
    incident = open_one(cfg, metadata={"status": "x", "trigger": "pnl_divergence", "severity": "low"})
    [entry] = entries()
    assert entry["metadata"]["severity"] == "critical" and entry["metadata"]["status"] == "x"
    assert incident.metadata == {"status": "x", "trigger": "pnl_divergence"}
