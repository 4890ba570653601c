"""Incident records, for callers that hold a config rather than an `OpsContext`.

The use cases themselves are in `tradeops.ops.incident_control` (`(ctx, Command) -> View`); each
function here builds the incident context for `cfg` in bootstrap (the operations log at `log_path`,
default decision_log.operations_log; the runtime log of `environment`, if given, for the timeline)
and calls one of them. The decision log is the source of truth; the records under
`incidents.directory` (`<id>.json`, `<id>.md`) are regenerated from it after each change and on
`show`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tradeops.config.models import AppConfig
from tradeops.ops import incident_control as use
from tradeops.ops.control_common import Door
from tradeops.ops.incident_model import (
    CLOSE_STATUSES,
    SEVERITIES,
    Incident,
    IncidentStateError,
    Note,
    TimelineEvent,
    incident_id_from_ticket,
)
from tradeops.ops.incident_render import render_markdown
from tradeops.ops_ports import OpsContext

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


def _context(
    cfg: AppConfig,
    environment: str | None,
    log_path: str | Path | None,
    environ: Mapping[str, str] = os.environ,
    now_ms: int | None = None,
) -> OpsContext:
    from tradeops.bootstrap.incident_records import incident_context

    clock = None if now_ms is None else (lambda: now_ms)
    log = Path(log_path) if log_path is not None else None
    return incident_context(
        cfg, Path("config/core.yaml"), environment, operations_log=log, environ=environ, clock_ms=clock
    )


def _door(actor: str) -> Door:
    return Door("cli", actor)


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
    command = use.OpenIncident(title, severity, _door(opened_by), ticket, opened_by, dict(metadata or {}))
    with _context(cfg, environment, log_path, environ, now_ms) as ctx:
        return use.open_(ctx, command).incident


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
    command = use.OpenIncident(title, severity, _door(opened_by), ticket, opened_by)
    with _context(cfg, environment, log_path, environ) as ctx:
        return use.ensure_open(ctx, command)


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
    with _context(cfg, environment, log_path, environ) as ctx:
        return use.note(ctx, use.NoteIncident(incident_id, text, _door(by), by)).incident


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
    with _context(cfg, environment, log_path, environ) as ctx:
        return use.close(ctx, use.CloseIncident(incident_id, status, _door(by), summary, by)).incident


def list_incidents(
    cfg: AppConfig, *, open_only: bool = False, log_path: str | Path | None = None
) -> list[Incident]:
    """Every incident in the operations log (without timelines), oldest first."""
    with _context(cfg, None, log_path) as ctx:
        return list(use.list_all(ctx, use.ListIncidents(open_only)).incidents)


def load_incident(
    cfg: AppConfig,
    incident_id: str,
    *,
    environment: str | None = None,
    log_path: str | Path | None = None,
    refresh: bool = False,
) -> Incident:
    """One incident with its timeline, rebuilt from the logs; `refresh` also rewrites its records."""
    with _context(cfg, environment, log_path) as ctx:
        return use.show(ctx, use.ShowIncident(incident_id, refresh)).incident
