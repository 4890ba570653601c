"""Incident records: open, note, close, list, show. The decision log is the source of truth.

Every state change appends one signed `kind=incident` entry to the operations log (status opened,
noted, restored or closed). The records under `incidents.directory` (`<id>.json` for machines,
`<id>.md` for people) are regenerated from the log after each change and on `show`; their timeline
gathers the operator actions logged while the incident was open (disable/restore, overrides,
silences, load tests, config changes, rollback steps, trading-state changes) and every entry whose
artefacts name the incident id or its ticket.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradeops.config.models import AppConfig
from tradeops.domain.errors import AlreadyExists, TradeopsError, UserInputError
from tradeops.fsutil import atomic_write_json, atomic_write_text
from tradeops.ops.audit_trail import record_operator_action
from tradeops.ops.incident_model import (
    _OPEN_FIELDS,
    CLOSE_STATUSES,
    SEVERITIES,
    Incident,
    IncidentStateError,
    Note,
    TimelineEvent,
    _next_auto_id,
    incident_id_from_ticket,
)
from tradeops.ops.incident_timeline import (
    _entries,
    _replay,
    _timeline,
)

__all__ = [
    "CLOSE_STATUSES",
    "SEVERITIES",
    "Incident",
    "IncidentStateError",
    "Note",
    "TimelineEvent",
    "add_note",
    "close_incident",
    "ensure_incident",
    "incident_id_from_ticket",
    "list_incidents",
    "load_incident",
    "open_incident",
    "render_markdown",
]


@dataclass(frozen=True)
class _Places:
    directory: Path
    operations_log: Path
    environment_log: Path | None


def _places(cfg: AppConfig, environment: str | None, log_path: str | Path | None) -> _Places:
    env_log = Path(cfg.decision_log_path(environment)) if environment else None
    return _Places(Path(cfg.incidents.directory), Path(log_path or cfg.decision_log.operations_log), env_log)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One writer at a time decides ids and open/closed state (CLI and scheduler may race)."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _find(incidents: dict[str, Incident], incident_id: str, log: Path) -> Incident:
    incident = incidents.get(incident_id_from_ticket(incident_id, "incident"))
    if incident is None:
        raise UserInputError(f"incident {incident_id}: not found in {log}; see `tradeops incident list`")
    return incident


def _refresh(places: _Places, incident_id: str, write: bool = True) -> Incident:
    entries = _entries(places.operations_log)
    incident = _find(_replay(entries), incident_id, places.operations_log)
    incident.timeline = _timeline(incident, places.operations_log, entries, places.environment_log)
    if write:
        try:
            write_records(places.directory, incident, places.operations_log)
        except OSError as exc:
            raise TradeopsError(
                f"{places.directory}: cannot write the records of {incident.id} ({exc.strerror}); the "
                f"decision log is up to date, run `tradeops incident show {incident.id}` once fixed"
            ) from None
    return incident


def write_records(directory: Path, incident: Incident, source: Path) -> tuple[Path, Path]:
    """Write `<id>.json` and `<id>.md` atomically."""
    payload = {**incident.to_json(), "generated_from": str(source)}
    json_path = atomic_write_json(directory / f"{incident.id}.json", payload)
    md_path = atomic_write_text(directory / f"{incident.id}.md", render_markdown(incident, source))
    return json_path, md_path


# --- use cases -------------------------------------------------------------------------------------


def _record(
    cfg: AppConfig,
    places: _Places,
    environ: Mapping[str, str],
    ids: tuple[str, str | None],
    status: str,
    meta: dict[str, Any],
) -> None:
    """One signed `kind=incident` entry; `ids` is (incident id, ticket)."""
    artefacts = {"incident_id": ids[0], "ticket": ids[1]}
    record_operator_action(
        cfg, kind="incident", status=status, artefacts=artefacts, metadata=meta, tags=("incident",),
        log_path=places.operations_log, environ=environ,
    )  # fmt: skip


def open_incident(
    cfg: AppConfig,
    *,
    title: str,
    severity: str,
    ticket: str | None = None,
    opened_by: str = "operator",
    metadata: Mapping[str, Any] | None = None,
    environment: str | None = None,
    log_path: str | Path | None = None,
    environ: Mapping[str, str] = os.environ,
    now_ms: int | None = None,
) -> Incident:
    """Open an incident (id: the sanitised ticket, else INC-YYYYMMDD-NNN) and log status=opened."""
    if not title.strip():
        raise UserInputError("--title must not be empty")
    if severity not in SEVERITIES:
        raise UserInputError(f"--severity {severity}: use one of {', '.join(SEVERITIES)}")
    places = _places(cfg, environment, log_path)
    wanted = incident_id_from_ticket(ticket) if ticket is not None else None
    with _locked(places.directory):
        incidents = _replay(_entries(places.operations_log))
        moment = int(time.time() * 1000) if now_ms is None else now_ms
        incident_id = wanted or _next_auto_id(moment, set(incidents), places.directory)
        existing = incidents.get(incident_id)
        if existing is not None and existing.is_open:
            raise AlreadyExists(
                f"incident {incident_id} is already open (since {existing.opened_at}); "
                f"add to it with `tradeops incident note {incident_id} --text ...`"
            )
        details = {k: v for k, v in (metadata or {}).items() if k not in _OPEN_FIELDS}
        ids = (incident_id, ticket.strip() if ticket is not None else None)
        meta = {**details, "title": title.strip(), "severity": severity, "opened_by": opened_by}
        _record(cfg, places, environ, ids, "opened", meta)
        return _refresh(places, incident_id)


def ensure_incident(
    cfg: AppConfig,
    *,
    ticket: str,
    title: str,
    severity: str,
    opened_by: str,
    environment: str | None = None,
    log_path: str | Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> str:
    """The id of the open incident for `ticket`, opening one if there is none (safe to repeat)."""
    places = _places(cfg, environment, log_path)
    incident_id = incident_id_from_ticket(ticket)
    existing = _replay(_entries(places.operations_log)).get(incident_id)
    if existing is not None and existing.is_open:
        return incident_id
    try:
        return open_incident(
            cfg,
            title=title,
            severity=severity,
            ticket=ticket,
            opened_by=opened_by,
            environment=environment,
            log_path=log_path,
            environ=environ,
        ).id
    except AlreadyExists:
        return incident_id  # opened by someone else in the meantime


def add_note(
    cfg: AppConfig,
    incident_id: str,
    *,
    text: str,
    by: str = "operator",
    environment: str | None = None,
    log_path: str | Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Incident:
    """Append a note (also to a closed incident: post-mortem findings) and log status=noted."""
    if not text.strip():
        raise UserInputError("--text must not be empty")
    places = _places(cfg, environment, log_path)
    with _locked(places.directory):
        incident = _find(_replay(_entries(places.operations_log)), incident_id, places.operations_log)
        _record(
            cfg, places, environ, (incident.id, incident.ticket), "noted", {"text": text.strip(), "by": by}
        )
        return _refresh(places, incident.id)


def close_incident(
    cfg: AppConfig,
    incident_id: str,
    *,
    status: str,
    summary: str = "",
    by: str = "operator",
    environment: str | None = None,
    log_path: str | Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Incident:
    """Close an open incident; logs status=restored for `restored`, else status=closed."""
    if status not in CLOSE_STATUSES:
        raise UserInputError(f"--status {status}: use one of {', '.join(CLOSE_STATUSES)}")
    places = _places(cfg, environment, log_path)
    with _locked(places.directory):
        incident = _find(_replay(_entries(places.operations_log)), incident_id, places.operations_log)
        if not incident.is_open:
            raise IncidentStateError(
                f"incident {incident.id} is already closed ({incident.resolution} at {incident.closed_at})"
            )
        logged = "restored" if status == "restored" else "closed"
        meta = {"resolution": status, "summary": summary.strip(), "closed_by": by}
        _record(cfg, places, environ, (incident.id, incident.ticket), logged, meta)
        return _refresh(places, incident.id)


def list_incidents(
    cfg: AppConfig, *, open_only: bool = False, log_path: str | Path | None = None
) -> list[Incident]:
    """Every incident in the operations log (without timelines), oldest first."""
    incidents = _replay(_entries(_places(cfg, None, log_path).operations_log)).values()
    return [i for i in incidents if i.is_open or not open_only]


def load_incident(
    cfg: AppConfig,
    incident_id: str,
    *,
    environment: str | None = None,
    log_path: str | Path | None = None,
    refresh: bool = False,
) -> Incident:
    """One incident with its timeline, rebuilt from the logs; `refresh` also rewrites its records."""
    return _refresh(_places(cfg, environment, log_path), incident_id, write=refresh)


# --- the human record ------------------------------------------------------------------------------


def _cell(value: object) -> str:
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")


def render_markdown(incident: Incident, source: Path | str = "the operations log") -> str:
    """The `<id>.md` record: fields, closing summary, timeline table, notes."""
    state = "open" if incident.is_open else f"closed ({incident.resolution})"
    rows = [
        ("Status", state),
        ("Severity", incident.severity),
        ("Ticket", incident.ticket or "-"),
        ("Opened", f"{incident.opened_at} by {incident.opened_by}"),
    ]
    if not incident.is_open:
        rows.append(("Closed", f"{incident.closed_at} by {incident.closed_by}"))
    for key, value in sorted(incident.metadata.items()):
        rows.append((key, value))
    lines = [f"# {incident.id}: {_cell(incident.title)}", "", "| Field | Value |", "| --- | --- |"]
    lines += [f"| {_cell(k)} | {_cell(v)} |" for k, v in rows]
    if incident.summary:
        lines += ["", "## Summary", "", incident.summary]
    lines += [
        "",
        "## Timeline",
        "",
        "| Time (UTC) | Kind | Status | What | By | Source |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += [
        "| " + " | ".join(_cell(v) for v in (e.at, e.kind, e.status, e.what, e.by, e.source)) + " |"
        for e in incident.timeline
    ]
    lines += ["", "## Notes", ""]
    lines += [f"- {n.at} ({_cell(n.by)}): {n.text}" for n in incident.notes] or ["(none)"]
    lines += [
        "",
        f"_Generated from {source}; the decision log is the source of truth. "
        f"Regenerate with `tradeops incident show {incident.id}`._",
        "",
    ]
    return "\n".join(lines)
