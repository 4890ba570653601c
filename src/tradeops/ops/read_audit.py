"""Read use cases over the audit trail: decision-log entries (each with its verification status),
the verified head and anchor, incidents with their timelines, and load-test reports."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

from tradeops.bootstrap.operator_log import operator_key
from tradeops.config.overrides import format_timestamp
from tradeops.decision_log.anchor import read_anchor
from tradeops.decision_log.entry import line_hash
from tradeops.decision_log.keys import ANY_KEY_ID
from tradeops.decision_log.verify import VerifyResult, verify_log
from tradeops.domain.errors import TradeopsError
from tradeops.ops.incident_control import ListIncidents, ShowIncident, list_all, show
from tradeops.ops.incident_model import Incident
from tradeops.ops.read_models import (
    IncidentsPage,
    IncidentView,
    LoadTestReportsPage,
    LoadTestReportView,
    LogEntriesPage,
    LogEntryView,
    LogHeadView,
    PageQuery,
    paginate,
)
from tradeops.ops_ports import OpsContext

LogName = Literal["operations", "trading"]
MAX_REPORT_BYTES = 4 * 1024 * 1024
# Where `tradeops load-test` writes (ops.loadtest.runner.REPORT_DIR; not imported: it pulls in the
# whole engine, seconds of start-up for the API process).
REPORT_DIR = Path("logs/load_tests")


def log_path(ctx: OpsContext, log: LogName) -> Path:
    if log == "operations":
        return Path(ctx.operations_log or ctx.cfg.decision_log.operations_log)
    return Path(ctx.cfg.decision_log_path(ctx.environment))


def _verify(ctx: OpsContext, path: Path) -> VerifyResult:
    """Verify the whole chain with the environment's key; a missing key is a failed verification."""
    try:
        key = operator_key(ctx.cfg, ctx.environ, path)
    except TradeopsError as exc:
        return VerifyResult(False, 0, "", first_error_line=1, reason=f"no verification key: {exc}")
    try:
        return verify_log(path, keyring={ANY_KEY_ID: key})
    except TradeopsError as exc:
        return VerifyResult(False, 0, "", first_error_line=1, reason=str(exc))


def _lines(path: Path) -> list[tuple[int, bytes]]:
    if not path.is_file():
        return []
    raw = path.read_bytes().split(b"\n")
    return [(n, line) for n, line in enumerate(raw[:-1], start=1) if line]  # the last piece is torn/empty


def _ticket(entry: dict[str, Any]) -> str | None:
    for section in ("artefacts", "metadata"):
        value = entry.get(section)
        if isinstance(value, dict) and isinstance(value.get("ticket"), str):
            return str(value["ticket"])
    return None


def _strategy(entry: dict[str, Any]) -> str | None:
    for section in ("artefacts", "metadata"):
        value = entry.get(section)
        if isinstance(value, dict) and isinstance(value.get("strategy"), str):
            return str(value["strategy"])
    return None


def _verification(line: int, entry: dict[str, Any], result: VerifyResult) -> str:
    bad = result.first_error_line
    if bad is not None and line == bad:
        return "failed"
    if bad is not None and line > bad:
        return "unverified"
    return "verified" if "signature" in entry else "unsigned"


@dataclass(frozen=True, slots=True)
class LogEntriesQuery:
    log: LogName = "operations"
    kind: str | None = None
    status: str | None = None
    strategy: str | None = None
    ticket: str | None = None
    newest_first: bool = True
    page: PageQuery = field(default_factory=PageQuery)

    def keeps(self, entry: dict[str, Any]) -> bool:
        return (
            self.kind in (None, entry.get("kind"))
            and self.status in (None, entry.get("status"))
            and self.strategy in (None, _strategy(entry))
            and self.ticket in (None, _ticket(entry))
        )


def read_log_entries(ctx: OpsContext, query: LogEntriesQuery) -> LogEntriesPage:
    """Filtered entries of one log, each with its verification status (the whole chain is checked)."""
    path = log_path(ctx, query.log)
    result = _verify(ctx, path) if path.is_file() else VerifyResult(True, 0, "")
    algorithm = ctx.cfg.decision_log.hash_algorithm
    views: list[LogEntryView] = []
    for number, raw in _lines(path):
        try:
            entry = orjson.loads(raw)
        except orjson.JSONDecodeError:
            entry = {"kind": "unreadable", "status": "unreadable"}
        if not isinstance(entry, dict) or not query.keeps(entry):
            continue
        views.append(
            LogEntryView(
                line=number,
                seq=entry.get("seq") if isinstance(entry.get("seq"), int) else None,
                hash=line_hash(raw, algorithm),
                kind=str(entry.get("kind", "")),
                status=str(entry.get("status", "")),
                timestamp=str(entry.get("timestamp", "")),
                strategy=_strategy(entry),
                ticket=_ticket(entry),
                verification=_verification(number, entry, result),
                entry=entry,
            )
        )
    if query.newest_first:
        views.reverse()
    items, info = paginate(views, query.page)
    return LogEntriesPage(query.log, str(path), items, info, result.ok)


@dataclass(frozen=True, slots=True)
class LogHeadQuery:
    log: LogName = "operations"


def read_log_head(ctx: OpsContext, query: LogHeadQuery) -> LogHeadView:
    """The verified chain head and the anchor written next to the log (what goes into a ticket)."""
    path = log_path(ctx, query.log)
    if not path.is_file():
        return LogHeadView(query.log, str(path), 0, "", True, None, None, None, None)
    result = _verify(ctx, path)
    anchor_doc: dict[str, Any] | None = None
    problem: str | None = None
    try:
        anchor, problem = read_anchor(path, {ANY_KEY_ID: operator_key(ctx.cfg, ctx.environ, path)})
        if anchor is not None:
            anchor_doc = {**asdict(anchor), "one_line": anchor.one_line(path)}
    except TradeopsError as exc:
        problem = str(exc)
    return LogHeadView(
        query.log,
        str(path),
        result.entries,
        result.head,
        result.ok,
        result.first_error_line,
        result.reason,
        anchor_doc,
        problem,
    )


# --- incidents ---------------------------------------------------------------------------------------


def incident_view(incident: Incident, *, with_timeline: bool) -> IncidentView:
    data = incident.to_json()
    return IncidentView(
        id=incident.id,
        title=incident.title,
        severity=incident.severity,
        status=incident.status,
        ticket=incident.ticket,
        opened_at=incident.opened_at,
        opened_by=incident.opened_by,
        closed_at=incident.closed_at,
        resolution=incident.resolution,
        notes=tuple(data["notes"]),
        timeline=tuple(data["timeline"]) if with_timeline else (),
    )


@dataclass(frozen=True, slots=True)
class IncidentsQuery:
    open_only: bool = False
    page: PageQuery = field(default_factory=PageQuery)


def read_incidents(ctx: OpsContext, query: IncidentsQuery) -> IncidentsPage:
    """Incidents from the operations log, newest first (timelines: read one incident)."""
    found = list_all(ctx, ListIncidents(query.open_only)).incidents
    views = [incident_view(i, with_timeline=False) for i in reversed(found)]
    items, info = paginate(views, query.page)
    return IncidentsPage(items, info)


@dataclass(frozen=True, slots=True)
class IncidentQuery:
    incident_id: str


def read_incident(ctx: OpsContext, query: IncidentQuery) -> IncidentView:
    """One incident with its timeline (UserInputError when there is no such incident)."""
    incident = show(ctx, ShowIncident(query.incident_id)).incident
    return incident_view(incident, with_timeline=True)


# --- load tests --------------------------------------------------------------------------------------

SUMMARY_KEYS = ("generated_at", "resource_status", "orders", "fills", "avg_latency_ms", "max_latency_ms")


@dataclass(frozen=True, slots=True)
class LoadTestReportsQuery:
    directory: Path = REPORT_DIR
    page: PageQuery = field(default_factory=PageQuery)


def _report(path: Path) -> LoadTestReportView:
    info = path.stat()
    summary: dict[str, Any] = {}
    if info.st_size <= MAX_REPORT_BYTES:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(document, dict):
                summary = {k: document[k] for k in SUMMARY_KEYS if k in document}
        except (ValueError, UnicodeDecodeError):
            summary = {"error": "not a JSON report"}
    return LoadTestReportView(path.name, format_timestamp(int(info.st_mtime * 1000)), info.st_size, summary)


def read_load_test_reports(_ctx: OpsContext, query: LoadTestReportsQuery) -> LoadTestReportsPage:
    """The JSON reports under logs/load_tests/, newest first, each with its headline figures."""
    found = sorted(query.directory.glob("*.json"), key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
    items, info = paginate([_report(p) for p in found], query.page)
    return LoadTestReportsPage(items, info)
