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
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from tradeops.config.models import AppConfig
from tradeops.decision_log.reader import iter_entries
from tradeops.domain.errors import AlreadyExists, TamperDetected, TradeopsError, UserInputError
from tradeops.fsutil import atomic_write_json, atomic_write_text
from tradeops.ops.audit_trail import record_operator_action

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

SEVERITIES = ("critical", "high", "medium", "low")
CLOSE_STATUSES = ("restored", "mitigated", "false_alarm")
TIMELINE_KINDS = frozenset(
    {
        "strategy_state",
        "override",
        "alert_silence",
        "load_test",
        "config_change",
        "incident",
        "snapshot",
        "rollback",
        "trading_state",
    }
)
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_OPEN_FIELDS = ("title", "severity", "opened_by")
_MAX_ID_LENGTH = 100
_MAX_WHAT = 160


class IncidentStateError(TradeopsError):
    """The incident is not in a state that allows this change (e.g. closing a closed one). Exit 1."""


@dataclass(frozen=True)
class Note:
    at: str
    by: str
    text: str


@dataclass(frozen=True)
class TimelineEvent:
    at: str
    source: str  # <log file name>:<line>
    kind: str
    status: str
    what: str
    by: str


@dataclass
class Incident:
    id: str
    title: str
    severity: str
    ticket: str | None
    opened_by: str
    opened_at: str
    status: str = "open"  # open | closed
    resolution: str | None = None  # restored | mitigated | false_alarm
    summary: str = ""
    closed_at: str | None = None
    closed_by: str | None = None
    notes: list[Note] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    timeline: list[TimelineEvent] = field(default_factory=list)
    # (first line, last line or None) of each open period in the operations log, with timestamps.
    periods: list[tuple[int, int | None, str, str | None]] = field(default_factory=list, repr=False)

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("periods")
        return data


# --- ids -------------------------------------------------------------------------------------------


def incident_id_from_ticket(ticket: str, what: str = "--ticket") -> str:
    """A file-safe id from a ticket: spaces and other unsafe characters become '-'.

    Path separators are refused rather than replaced, so a ticket can never name another directory.
    """
    raw = ticket.strip()
    if "/" in raw or "\\" in raw:
        raise UserInputError(
            f"{what} {ticket!r}: must not contain '/' or '\\' (it names the incident's files)"
        )
    cleaned = _ID_UNSAFE.sub("-", raw).strip("-.")
    if not cleaned:
        raise UserInputError(f"{what} {ticket!r}: needs at least one letter or digit")
    if len(cleaned) > _MAX_ID_LENGTH:
        raise UserInputError(f"{what} {ticket[:20]!r}...: longer than {_MAX_ID_LENGTH} characters")
    return cleaned


def _next_auto_id(now_ms: int, known: set[str], directory: Path) -> str:
    prefix = f"INC-{datetime.fromtimestamp(now_ms / 1000, UTC):%Y%m%d}-"
    names = set(known)
    if directory.is_dir():
        names.update(p.stem for p in directory.glob(f"{prefix}*.json"))
    numbers = [int(n[len(prefix) :]) for n in names if n.startswith(prefix) and n[len(prefix) :].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


# --- reading the logs ------------------------------------------------------------------------------


def _entries(path: Path) -> list[tuple[int, dict[str, Any]]]:
    return list(iter_entries(path)) if path.is_file() else []


def _candidate_entries(path: Path, names: set[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Entries of a (large) runtime log that may belong in a timeline.

    Lines are canonical JSON, so a byte search skips signals, fills and the like without parsing.
    """
    needles = [b'"kind":' + orjson.dumps(kind) for kind in TIMELINE_KINDS] + [orjson.dumps(n) for n in names]
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.endswith(b"\n"):
                return  # a torn last line is not an entry yet
            if not any(needle in raw for needle in needles):
                continue
            try:
                entry = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise TamperDetected(f"{path}:{number}: not valid JSON") from None
            if isinstance(entry, dict):
                yield number, entry


def _parse_ts(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _replay(entries: list[tuple[int, dict[str, Any]]]) -> dict[str, Incident]:
    """Every incident's current state, in order of first appearance."""
    incidents: dict[str, Incident] = {}
    for line, entry in entries:
        artefacts = entry.get("artefacts") or {}
        incident_id = artefacts.get("incident_id")
        if entry.get("kind") != "incident" or not isinstance(incident_id, str):
            continue
        meta = entry.get("metadata") or {}
        at, status = str(entry.get("timestamp", "")), entry.get("status")
        current = incidents.get(incident_id)
        if status == "opened":
            if current is not None and current.is_open:
                continue
            incident = Incident(
                id=incident_id,
                title=str(meta.get("title", "")),
                severity=str(meta.get("severity", "")),
                ticket=artefacts.get("ticket"),
                opened_by=str(meta.get("opened_by", "")),
                opened_at=at,
                notes=current.notes if current else [],
                metadata={k: v for k, v in meta.items() if k not in _OPEN_FIELDS},
                periods=current.periods if current else [],
            )
            incident.periods.append((line, None, at, None))
            incidents[incident_id] = incident
        elif current is None:
            continue
        elif status == "noted":
            current.notes.append(Note(at, str(meta.get("by", "")), str(meta.get("text", ""))))
        elif current.is_open:
            current.status = "closed"
            current.resolution = str(meta.get("resolution", status))
            current.summary = str(meta.get("summary", ""))
            current.closed_at, current.closed_by = at, str(meta.get("closed_by", ""))
            first, _, opened_at, _ = current.periods[-1]
            current.periods[-1] = (first, line, opened_at, at)
    return incidents


def _mentions(entry: dict[str, Any], names: set[str]) -> bool:
    artefacts = entry.get("artefacts")
    return isinstance(artefacts, dict) and any(isinstance(v, str) and v in names for v in artefacts.values())


def _describe(entry: dict[str, Any]) -> str:
    artefacts, meta = entry.get("artefacts") or {}, entry.get("metadata") or {}
    kind, status = entry.get("kind"), entry.get("status")
    if kind == "incident":
        if status == "opened":
            text = f"opened: {meta.get('title', '')} ({meta.get('severity', '')})"
        elif status == "noted":
            text = f"note: {meta.get('text', '')}"
        else:
            summary = meta.get("summary")
            text = f"closed as {meta.get('resolution', status)}" + (f": {summary}" if summary else "")
    else:
        parts = [
            f"{k}={artefacts[k]}" for k in ("strategy", "component", "step", "silence_id") if artefacts.get(k)
        ]
        detail = meta.get("reason") or meta.get("event") or meta.get("summary")
        if detail:
            parts.append(str(detail))
        text = " ".join(parts) or ", ".join(f"{k}={v}" for k, v in sorted(artefacts.items()))
    text = " ".join(text.split())
    return text if len(text) <= _MAX_WHAT else text[: _MAX_WHAT - 1] + "…"


def _actor(entry: dict[str, Any]) -> str:
    meta = entry.get("metadata") or {}
    for key in ("actor", "requested_by", "by", "opened_by", "closed_by", "created_by"):
        if meta.get(key):
            return str(meta[key])
    return ""


def _event(path: Path, line: int, entry: dict[str, Any]) -> TimelineEvent:
    return TimelineEvent(
        at=str(entry.get("timestamp", "")),
        source=f"{path.name}:{line}",
        kind=str(entry.get("kind", "")),
        status=str(entry.get("status", "")),
        what=_describe(entry),
        by=_actor(entry),
    )


def _relevant(entry: dict[str, Any], incident: Incident, names: set[str], inside: bool) -> bool:
    kind = entry.get("kind")
    if kind == "incident":
        return (entry.get("artefacts") or {}).get("incident_id") == incident.id
    return _mentions(entry, names) or (inside and kind in TIMELINE_KINDS)


def _timeline(
    incident: Incident,
    ops_path: Path,
    ops_entries: list[tuple[int, dict[str, Any]]],
    environment_log: Path | None,
) -> list[TimelineEvent]:
    names = {incident.id} | ({incident.ticket} if incident.ticket else set())
    events: list[tuple[datetime | None, TimelineEvent]] = []
    for line, entry in ops_entries:
        inside = any(
            first <= line and (last is None or line <= last) for first, last, _, _ in incident.periods
        )
        if _relevant(entry, incident, names, inside):
            events.append((_parse_ts(entry.get("timestamp")), _event(ops_path, line, entry)))
    if environment_log is not None and environment_log.resolve() != ops_path.resolve():
        periods = [(_parse_ts(start), _parse_ts(end)) for _, _, start, end in incident.periods]
        for line, entry in _candidate_entries(environment_log, names) if environment_log.is_file() else ():
            at = _parse_ts(entry.get("timestamp"))
            inside = at is not None and any(
                start is not None and start <= at and (end is None or at <= end) for start, end in periods
            )
            if _relevant(entry, incident, names, inside):
                events.append((at, _event(environment_log, line, entry)))
    earliest = datetime.min.replace(tzinfo=UTC)
    events.sort(key=lambda pair: pair[0] or earliest)
    return [event for _, event in events]


# --- where things live -----------------------------------------------------------------------------


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
