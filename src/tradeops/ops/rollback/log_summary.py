"""`rollback summary --ticket T` without a guided rollback: the summary is built from the logs.

Start is the incident's open (or the first logged step under the ticket), end is its close (or now);
every logged step under the ticket is listed with its time and outcome; artefacts are only this
incident's (the configuration as it is now; no other incident's load-test files). No step logged
yet: refused in one line, nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradeops.decision_log.reader import iter_entries
from tradeops.domain.errors import UserInputError
from tradeops.fsutil import atomic_write_json
from tradeops.ops.rollback.config_edit import sha256_of
from tradeops.ops.rollback.state import SUMMARY_PATH
from tradeops.ops_ports import OpsContext

CLOSED = frozenset({"closed", "restored"})  # how `incident close` logs the end of an incident


@dataclass(frozen=True, slots=True)
class SummarizeFromLog:
    ticket: str
    path: Path = SUMMARY_PATH


@dataclass(frozen=True, slots=True)
class LoggedSummary:
    path: Path
    steps: int
    duration_min: float


NOT_STEPS = frozenset({"incident", "incident_bundle"})


def _mentions(entry: dict[str, Any], ticket: str) -> bool:
    artefacts = entry.get("artefacts")
    return isinstance(artefacts, dict) and any(v == ticket for v in artefacts.values())


def _moment(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(entry["timestamp"]))


def _logs(ctx: OpsContext) -> list[Path]:
    ops = Path(ctx.operations_log or ctx.cfg.decision_log.operations_log)
    runtime = Path(ctx.cfg.decision_log_path(ctx.environment))
    return [ops] if runtime.resolve() == ops.resolve() else [ops, runtime]


def _step(path: Path, line: int, entry: dict[str, Any]) -> dict[str, Any]:
    artefacts, meta = entry.get("artefacts") or {}, entry.get("metadata") or {}
    return {
        "at": entry["timestamp"],
        "source": f"{path.name}:{line}",
        "kind": entry.get("kind"),
        "outcome": entry.get("status"),
        "by": meta.get("actor") or meta.get("requested_by") or meta.get("detected_by") or "",
        "detail": {k: v for k, v in artefacts.items() if k != "signature"},
    }


def summarize_from_log(ctx: OpsContext, command: SummarizeFromLog) -> LoggedSummary:
    ticket = command.ticket.strip()
    found: list[tuple[datetime, dict[str, Any], dict[str, Any]]] = []
    for path in _logs(ctx):
        if not path.is_file():
            continue
        for line, entry in iter_entries(path):
            if _mentions(entry, ticket):
                found.append((_moment(entry), entry, _step(path, line, entry)))
    found.sort(key=lambda item: item[0])
    # The incident's own records and its sealed bundle are about the incident, not rollback steps.
    steps = [step for _, entry, step in found if entry.get("kind") not in NOT_STEPS]
    if not steps:
        raise UserInputError(
            f"rollback summary --ticket {ticket}: no logged step carries this ticket yet (nothing written)"
        )
    opened = [
        at for at, entry, _ in found if entry.get("kind") == "incident" and entry.get("status") == "opened"
    ]
    closed = [
        at for at, entry, _ in found if entry.get("kind") == "incident" and entry.get("status") in CLOSED
    ]
    start = opened[0] if opened else found[0][0]
    end = closed[-1] if closed else datetime.fromtimestamp(ctx.clock_ms() / 1000, tz=UTC)
    duration = round(max(0.0, (end - start).total_seconds() / 60), 2)
    config = Path("config/core.yaml")
    payload = {
        "schema": "tradeops.stage4.rollback_summary",
        "schema_version": 1,
        "ticket": ticket,
        "incident_id": ticket,
        "source": "decision logs (no guided rollback state)",
        "started_at": start.isoformat(),
        "started_from": "incident opened" if opened else "first logged step",
        "completed_at": end.isoformat(),
        "completed_from": "incident closed" if closed else "now",
        "duration_min": duration,
        "environment": ctx.environment,
        "steps": steps,
        "artefacts": {str(config): sha256_of(config)} if config.is_file() else {},
    }
    return LoggedSummary(atomic_write_json(command.path, payload), len(steps), duration)
