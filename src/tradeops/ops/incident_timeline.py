"""Incidents projected from the decision log: replay the `kind=incident` entries into records and
gather each incident's timeline from the operator and runtime entries that concern it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradeops.ops.incident_model import (
    _MAX_WHAT,
    _OPEN_FIELDS,
    TIMELINE_KINDS,
    Incident,
    Note,
    TimelineEvent,
)
from tradeops.ops_ports import LogEntries


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


def _event(source: str, line: int, entry: dict[str, Any]) -> TimelineEvent:
    return TimelineEvent(
        at=str(entry.get("timestamp", "")),
        source=f"{Path(source).name}:{line}",
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
    ops_source: str,
    ops_entries: LogEntries,
    runtime_source: str | None,
    runtime_entries: LogEntries,
) -> list[TimelineEvent]:
    """The incident's events: from the operations log by line (inside an open period), from the
    runtime log by timestamp; both sorted by time."""
    names = {incident.id} | ({incident.ticket} if incident.ticket else set())
    events: list[tuple[datetime | None, TimelineEvent]] = []
    for line, entry in ops_entries:
        inside = any(
            first <= line and (last is None or line <= last) for first, last, _, _ in incident.periods
        )
        if _relevant(entry, incident, names, inside):
            events.append((_parse_ts(entry.get("timestamp")), _event(ops_source, line, entry)))
    if runtime_source is not None:
        periods = [(_parse_ts(start), _parse_ts(end)) for _, _, start, end in incident.periods]
        for line, entry in runtime_entries:
            at = _parse_ts(entry.get("timestamp"))
            inside = at is not None and any(
                start is not None and start <= at and (end is None or at <= end) for start, end in periods
            )
            if _relevant(entry, incident, names, inside):
                events.append((at, _event(runtime_source, line, entry)))
    earliest = datetime.min.replace(tzinfo=UTC)
    events.sort(key=lambda pair: pair[0] or earliest)
    return [event for _, event in events]


# --- where things live -----------------------------------------------------------------------------
