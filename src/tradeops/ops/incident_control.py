"""Incident use cases as `(context, Command) -> View`: open, note, close, list, show.

The decision log is the source of truth: every change appends one signed `kind=incident` entry
through `ctx.operator_log` (status opened, noted, restored or closed), then the incident is
replayed from `ctx.incidents` (the operations log, and for the timeline the environment's runtime
log) and its `<id>.json`/`<id>.md` records are rewritten. The CLI (`tradeops incident ...`), the
control API (`POST /v1/incidents`, `/v1/incidents/{id}/notes|close`), the rollback steps and the
scheduler's incident triggers all call these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradeops.domain.errors import AlreadyExists, TradeopsError, UserInputError
from tradeops.ops.control_common import Door
from tradeops.ops.incident_model import (
    _OPEN_FIELDS,
    CLOSE_STATUSES,
    SEVERITIES,
    TIMELINE_KINDS,
    Incident,
    IncidentStateError,
    UnknownIncident,
    _next_auto_id,
    auto_id_prefix,
    incident_id_from_ticket,
)
from tradeops.ops.incident_render import render_markdown
from tradeops.ops.incident_timeline import _replay, _timeline
from tradeops.ops_ports import IncidentRecords, LogEntries, OpsContext

__all__ = [
    "CloseIncident",
    "IncidentChanged",
    "IncidentList",
    "IncidentShown",
    "ListIncidents",
    "NoteIncident",
    "OpenIncident",
    "ShowIncident",
    "close",
    "ensure_open",
    "list_all",
    "note",
    "open_",
    "show",
]


@dataclass(frozen=True, slots=True)
class OpenIncident:
    title: str
    severity: str
    door: Door
    ticket: str | None = None  # becomes the id (sanitised); None: INC-YYYYMMDD-NNN
    opened_by: str | None = None  # None: the door's principal
    metadata: Mapping[str, object] = field(default_factory=dict)
    scan_runtime_log: bool = True  # False: leave the runtime log out of the first timeline


@dataclass(frozen=True, slots=True)
class NoteIncident:
    incident_id: str
    text: str
    door: Door
    by: str | None = None


@dataclass(frozen=True, slots=True)
class CloseIncident:
    incident_id: str
    status: str  # restored | mitigated | false_alarm
    door: Door
    summary: str = ""
    by: str | None = None


@dataclass(frozen=True, slots=True)
class ListIncidents:
    open_only: bool = False


@dataclass(frozen=True, slots=True)
class ShowIncident:
    incident_id: str
    refresh: bool = False  # also rewrite the records
    scan_runtime_log: bool = True


@dataclass(frozen=True, slots=True)
class IncidentChanged:
    """An incident after one change, and where its records are."""

    incident: Incident
    change: str  # opened | noted | closed
    records: tuple[Path, Path]  # (<id>.json, <id>.md)

    def lines(self) -> list[str]:
        record = self.incident
        where = f"records: {self.records[1]}, {self.records[0]}"
        if self.change == "opened":
            return [f"opened {record.id} ({record.severity}): {record.title}", where]
        if self.change == "noted":
            return [f"noted {record.id} ({len(record.notes)} notes)"]
        return [f"closed {record.id} as {record.resolution} ({len(record.timeline)} timeline events)", where]

    def to_json(self) -> dict[str, object]:
        return {
            "change": self.change,
            "records": [str(p) for p in self.records],
            "incident": self.incident.to_json(),
        }


@dataclass(frozen=True, slots=True)
class IncidentShown:
    incident: Incident
    source: str  # the operations log the records say they are generated from

    def markdown(self) -> str:
        return render_markdown(self.incident, self.source)

    def to_json(self) -> dict[str, Any]:
        return self.incident.to_json()


@dataclass(frozen=True, slots=True)
class IncidentList:
    incidents: tuple[Incident, ...]
    open_only: bool

    def to_json(self) -> list[dict[str, Any]]:
        return [i.to_json() for i in self.incidents]

    def lines(self) -> list[str]:
        if not self.incidents:
            return ["no open incidents" if self.open_only else "no incidents"]
        rows = [("ID", "STATUS", "SEVERITY", "OPENED", "TITLE")]
        rows += [
            (i.id, "open" if i.is_open else f"closed:{i.resolution}", i.severity, i.opened_at[:19], i.title)
            for i in self.incidents
        ]
        widths = [max(len(row[n]) for row in rows) for n in range(4)]
        return [
            "  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
            for row in rows
        ]


# --- internals -------------------------------------------------------------------------------------


def _records(ctx: OpsContext) -> IncidentRecords:
    if ctx.incidents is None:
        raise TradeopsError("this operations context carries no incident records (bootstrap wires them)")
    return ctx.incidents


def _find(ctx: OpsContext, incidents: dict[str, Incident], incident_id: str) -> Incident:
    incident = incidents.get(incident_id_from_ticket(incident_id, "incident"))
    if incident is None:
        where = _records(ctx).operations_source
        raise UnknownIncident(f"incident {incident_id}: not found in {where}; see `tradeops incident list`")
    return incident


def _rebuild(ctx: OpsContext, entries: LogEntries, incident_id: str, scan_runtime: bool) -> Incident:
    records = _records(ctx)
    incident = _find(ctx, _replay(entries), incident_id)
    names = {incident.id} | ({incident.ticket} if incident.ticket else set())
    runtime = records.runtime_source if scan_runtime else None
    runtime_entries = records.runtime_entries(TIMELINE_KINDS, names) if runtime is not None else []
    incident.timeline = _timeline(incident, records.operations_source, entries, runtime, runtime_entries)
    return incident


def _write(ctx: OpsContext, incident: Incident) -> tuple[Path, Path]:
    records = _records(ctx)
    payload = {**incident.to_json(), "generated_from": records.operations_source}
    try:
        return records.write(incident.id, payload, render_markdown(incident, records.operations_source))
    except OSError as exc:
        raise TradeopsError(
            f"{records.directory}: cannot write the records of {incident.id} ({exc.strerror}); the "
            f"decision log is up to date, run `tradeops incident show {incident.id}` once fixed"
        ) from None


def _log(
    ctx: OpsContext, incident: tuple[str, str | None], status: str, meta: dict[str, Any], door: Door
) -> None:
    """One signed `kind=incident` entry; `incident` is (id, ticket). A door with a token or a client
    certificate (the control API) adds who came through it."""
    if door.token_id is not None or door.client_subject is not None:
        meta = {**meta, "via": door.via, "token_id": door.token_id, "client_subject": door.client_subject}
        meta = {k: v for k, v in meta.items() if v is not None}
    artefacts = {"incident_id": incident[0], "ticket": incident[1]}
    ctx.operator_log.append(
        kind="incident", status=status, artefacts=artefacts, metadata=meta, tags=("incident",)
    )


def _changed(ctx: OpsContext, incident_id: str, change: str, scan_runtime: bool = True) -> IncidentChanged:
    incident = _rebuild(ctx, _records(ctx).operations_entries(), incident_id, scan_runtime)
    return IncidentChanged(incident, change, _write(ctx, incident))


# --- use cases -------------------------------------------------------------------------------------


def open_(ctx: OpsContext, command: OpenIncident) -> IncidentChanged:
    """Open an incident (id: the sanitised ticket, else INC-YYYYMMDD-NNN) and log status=opened;
    AlreadyExists when one with that id is open."""
    if not command.title.strip():
        raise UserInputError("--title must not be empty")
    if command.severity not in SEVERITIES:
        raise UserInputError(f"--severity {command.severity}: use one of {', '.join(SEVERITIES)}")
    ticket = command.ticket
    wanted = incident_id_from_ticket(ticket) if ticket is not None else None
    records = _records(ctx)
    with records.lock():
        incidents = _replay(records.operations_entries())
        if wanted is None:
            now = ctx.clock_ms()
            wanted = _next_auto_id(now, set(incidents) | records.record_ids(auto_id_prefix(now)))
        existing = incidents.get(wanted)
        if existing is not None and existing.is_open:
            raise AlreadyExists(
                f"incident {wanted} is already open (since {existing.opened_at}); "
                f"add to it with `tradeops incident note {wanted} --text ...`"
            )
        details = {k: v for k, v in command.metadata.items() if k not in _OPEN_FIELDS}
        opened_by = command.opened_by or command.door.principal
        meta = {
            **details,
            "title": command.title.strip(),
            "severity": command.severity,
            "opened_by": opened_by,
        }
        _log(ctx, (wanted, ticket.strip() if ticket is not None else None), "opened", meta, command.door)
        return _changed(ctx, wanted, "opened", command.scan_runtime_log)


def ensure_open(ctx: OpsContext, command: OpenIncident) -> str:
    """The id of the open incident for `command.ticket`, opening one if there is none (safe to
    repeat, also when another process opens it in the meantime)."""
    if command.ticket is None:
        raise UserInputError("ensuring an incident needs its ticket")
    incident_id = incident_id_from_ticket(command.ticket)
    existing = _replay(_records(ctx).operations_entries()).get(incident_id)
    if existing is not None and existing.is_open:
        return incident_id
    try:
        return open_(ctx, command).incident.id
    except AlreadyExists:
        return incident_id


def note(ctx: OpsContext, command: NoteIncident) -> IncidentChanged:
    """Append a note (also to a closed incident: post-mortem findings) and log status=noted."""
    text = command.text.strip()
    if not text:
        raise UserInputError("--text must not be empty")
    with _records(ctx).lock():
        incident = _find(ctx, _replay(_records(ctx).operations_entries()), command.incident_id)
        by = command.by or command.door.principal
        _log(ctx, (incident.id, incident.ticket), "noted", {"text": text, "by": by}, command.door)
        return _changed(ctx, incident.id, "noted")


def close(ctx: OpsContext, command: CloseIncident) -> IncidentChanged:
    """Close an open incident; logs status=restored for `restored`, else status=closed;
    IncidentStateError when it is already closed."""
    if command.status not in CLOSE_STATUSES:
        raise UserInputError(f"--status {command.status}: use one of {', '.join(CLOSE_STATUSES)}")
    with _records(ctx).lock():
        incident = _find(ctx, _replay(_records(ctx).operations_entries()), command.incident_id)
        if not incident.is_open:
            raise IncidentStateError(
                f"incident {incident.id} is already closed ({incident.resolution} at {incident.closed_at})"
            )
        logged = "restored" if command.status == "restored" else "closed"
        by = command.by or command.door.principal
        meta = {"resolution": command.status, "summary": command.summary.strip(), "closed_by": by}
        _log(ctx, (incident.id, incident.ticket), logged, meta, command.door)
        return _changed(ctx, incident.id, "closed")


def list_all(ctx: OpsContext, command: ListIncidents) -> IncidentList:
    """Every incident in the operations log (without timelines), oldest first."""
    incidents = _replay(_records(ctx).operations_entries()).values()
    return IncidentList(tuple(i for i in incidents if i.is_open or not command.open_only), command.open_only)


def show(ctx: OpsContext, command: ShowIncident) -> IncidentShown:
    """One incident with its timeline, rebuilt from the logs; `refresh` also rewrites its records."""
    records = _records(ctx)
    incident = _rebuild(ctx, records.operations_entries(), command.incident_id, command.scan_runtime_log)
    if command.refresh:
        _write(ctx, incident)
    return IncidentShown(incident, records.operations_source)
