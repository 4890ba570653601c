"""The `<id>.md` record of an incident, for people (the `<id>.json` one is `Incident.to_json`)."""

from __future__ import annotations

from pathlib import Path

from tradeops.ops.incident_model import Incident


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
