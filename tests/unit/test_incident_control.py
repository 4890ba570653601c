"""The incident use cases as (context, Command) -> View on the in-memory fakes: one signed entry per
change through `ctx.operator_log`, the incident replayed from `ctx.incidents`, records rewritten,
the state rules and the errors every door shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.ops_fakes import log_of, records_of
from tradeops.config.load import load_config
from tradeops.config.models import AppConfig
from tradeops.domain.errors import AlreadyExists, AuditWriteFailed, TradeopsError, UserInputError
from tradeops.ops.control_common import Door
from tradeops.ops.incident_control import (
    CloseIncident,
    ListIncidents,
    NoteIncident,
    OpenIncident,
    ShowIncident,
    close,
    ensure_open,
    list_all,
    note,
    open_,
    show,
)
from tradeops.ops.incident_model import IncidentStateError
from tradeops.ops_ports import OpsContext
from tradeops.ops_ports.fakes import FixedClock, fake_ops_context

REPO = Path(__file__).resolve().parents[2]
NOW = 1_772_366_400_000  # 2026-03-01T12:00:00Z
CLI = Door("cli", "os-user")
API = Door("api", "alice", token_id="tok-1", client_subject="CN=ops")


@pytest.fixture(scope="module")
def cfg() -> AppConfig:
    return load_config(REPO / "config" / "core.yaml")


@pytest.fixture
def ctx(cfg: AppConfig) -> OpsContext:
    return fake_ops_context(cfg, now_ms=NOW)


def test_open_note_close_log_one_entry_each_and_rewrite_the_records(ctx: OpsContext) -> None:
    opened = open_(ctx, OpenIncident("fills stalled", "high", CLI, ticket="OPS 7"))
    assert opened.incident.id == "OPS-7" and opened.incident.ticket == "OPS 7"
    assert opened.lines()[0] == "opened OPS-7 (high): fills stalled"
    assert opened.lines()[1].endswith("OPS-7.md, memory/incidents/OPS-7.json")
    assert opened.incident.opened_by == "os-user"  # the door's principal by default

    noted = note(ctx, NoteIncident("OPS 7", "disabled cross_exchange", CLI, by="bob"))
    assert noted.lines() == ["noted OPS-7 (1 notes)"]
    closed = close(ctx, CloseIncident("OPS-7", "restored", CLI, summary=" back  "))
    assert closed.incident.resolution == "restored" and closed.incident.summary == "back"

    entries = log_of(ctx).of_kind("incident")
    assert [e["status"] for e in entries] == ["opened", "noted", "restored"]
    assert all(e["artefacts"] == {"incident_id": "OPS-7", "ticket": "OPS 7"} for e in entries)
    assert entries[1]["metadata"] == {"text": "disabled cross_exchange", "by": "bob"}
    payload, markdown = records_of(ctx).written["OPS-7"]
    assert payload["status"] == "closed" and markdown.startswith("# OPS-7: fills stalled")
    assert [e.status for e in closed.incident.timeline] == ["opened", "noted", "restored"]


def test_the_api_door_is_named_in_the_entry(ctx: OpsContext) -> None:
    open_(ctx, OpenIncident("t", "low", CLI, ticket="A-1"))
    note(ctx, NoteIncident("A-1", "seen", API))
    meta = log_of(ctx).of_kind("incident", "noted")[0]["metadata"]
    assert meta == {
        "text": "seen",
        "by": "alice",
        "via": "api",
        "token_id": "tok-1",
        "client_subject": "CN=ops",
    }
    assert "via" not in log_of(ctx).of_kind("incident", "opened")[0]["metadata"]


def test_auto_ids_count_per_day_past_log_and_records(ctx: OpsContext) -> None:
    records_of(ctx).written["INC-20260301-004"] = ({}, "")  # a record whose log entry is elsewhere
    first = open_(ctx, OpenIncident("a", "low", CLI)).incident.id
    second = open_(ctx, OpenIncident("b", "low", CLI)).incident.id
    assert (first, second) == ("INC-20260301-005", "INC-20260301-006")
    assert isinstance(ctx.clock_ms, FixedClock)
    ctx.clock_ms.advance(86_400_000)
    assert open_(ctx, OpenIncident("c", "low", CLI)).incident.id == "INC-20260302-001"


def test_state_rules_and_bad_input(ctx: OpsContext) -> None:
    open_(ctx, OpenIncident("t", "low", CLI, ticket="T-1"))
    with pytest.raises(AlreadyExists, match="already open"):
        open_(ctx, OpenIncident("again", "low", CLI, ticket="T-1"))
    close(ctx, CloseIncident("T-1", "false_alarm", CLI))
    with pytest.raises(IncidentStateError, match="already closed"):
        close(ctx, CloseIncident("T-1", "mitigated", CLI))
    note(ctx, NoteIncident("T-1", "post-mortem", CLI))  # notes go to closed incidents too
    for bad, text in [
        (lambda: open_(ctx, OpenIncident(" ", "low", CLI)), "--title"),
        (lambda: open_(ctx, OpenIncident("t", "urgent", CLI)), "--severity urgent"),
        (lambda: open_(ctx, OpenIncident("t", "low", CLI, ticket="a/b")), "must not contain"),
        (lambda: note(ctx, NoteIncident("T-1", "  ", CLI)), "--text"),
        (lambda: close(ctx, CloseIncident("T-1", "done", CLI)), "--status done"),
        (lambda: note(ctx, NoteIncident("NOPE", "x", CLI)), "incident NOPE: not found"),
    ]:
        with pytest.raises(UserInputError, match=text):
            bad()
    assert len(log_of(ctx).of_kind("incident")) == 3  # nothing logged for the refusals


def test_reopen_after_close_and_ensure_open_is_idempotent(ctx: OpsContext) -> None:
    command = OpenIncident("rollback", "critical", Door("rollback", "carol"), ticket="CHG-9")
    assert ensure_open(ctx, command) == "CHG-9"
    assert ensure_open(ctx, command) == "CHG-9"
    assert len(log_of(ctx).of_kind("incident", "opened")) == 1
    close(ctx, CloseIncident("CHG-9", "restored", CLI))
    assert ensure_open(ctx, command) == "CHG-9"  # a closed incident of that ticket opens again
    listed = list_all(ctx, ListIncidents(open_only=True))
    assert [i.id for i in listed.incidents] == ["CHG-9"] and len(listed.lines()) == 2


def test_list_and_show(ctx: OpsContext) -> None:
    assert list_all(ctx, ListIncidents()).lines() == ["no incidents"]
    assert list_all(ctx, ListIncidents(open_only=True)).lines() == ["no open incidents"]
    open_(ctx, OpenIncident("one", "low", CLI, ticket="A"))
    open_(ctx, OpenIncident("two", "high", CLI, ticket="B"))
    close(ctx, CloseIncident("A", "mitigated", CLI))
    table = list_all(ctx, ListIncidents()).lines()
    assert table[0].split() == ["ID", "STATUS", "SEVERITY", "OPENED", "TITLE"]
    assert table[1].split()[:3] == ["A", "closed:mitigated", "low"]
    assert [i["id"] for i in list_all(ctx, ListIncidents(open_only=True)).to_json()] == ["B"]

    records_of(ctx).written.clear()
    shown = show(ctx, ShowIncident("A"))
    assert shown.to_json()["resolution"] == "mitigated" and "## Timeline" in shown.markdown()
    assert records_of(ctx).written == {}  # show without refresh writes nothing
    show(ctx, ShowIncident("A", refresh=True))
    assert set(records_of(ctx).written) == {"A"}


def test_the_timeline_takes_runtime_entries_inside_the_open_period(ctx: OpsContext) -> None:
    records_of(ctx).runtime = [
        {"kind": "trading_state", "status": "halted", "timestamp": "2026-03-01T12:00:00+00:00"},
        {"kind": "fill", "status": "ok", "timestamp": "2026-03-01T12:00:00+00:00"},
        {"kind": "trading_state", "status": "open", "timestamp": "2026-02-01T00:00:00+00:00"},
    ]
    opened = open_(ctx, OpenIncident("t", "low", CLI, ticket="R-1"))
    assert [(e.kind, e.source) for e in opened.incident.timeline] == [
        ("incident", "operations.jsonl:1"),
        ("trading_state", "runtime.jsonl:1"),
    ]
    quiet = open_(ctx, OpenIncident("t", "low", CLI, ticket="R-2", scan_runtime_log=False))
    assert [e.kind for e in quiet.incident.timeline] == ["incident"]


def test_failures_name_what_failed(ctx: OpsContext) -> None:
    log_of(ctx).fail = "disk full"
    with pytest.raises(AuditWriteFailed, match="disk full"):
        open_(ctx, OpenIncident("t", "low", CLI, ticket="F-1"))
    assert list_all(ctx, ListIncidents()).incidents == ()
    log_of(ctx).fail = None
    records_of(ctx).fail = "read-only"
    with pytest.raises(TradeopsError, match="decision log is up to date"):
        open_(ctx, OpenIncident("t", "low", CLI, ticket="F-1"))
    assert [i.id for i in list_all(ctx, ListIncidents()).incidents] == ["F-1"]
    ctx.incidents = None
    with pytest.raises(TradeopsError, match="no incident records"):
        list_all(ctx, ListIncidents())
