"""Incident values: severities, statuses, the record and its timeline events, and incident ids."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from tradeops.domain.errors import TradeopsError, UserInputError

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
    """The incident is not in a state that allows this change (e.g. closing a closed one). Exit 1;
    HTTP 409."""


class UnknownIncident(UserInputError):
    """No incident of that id in the operations log. Exit 2 (bad input); HTTP 404."""


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


def auto_id_prefix(now_ms: int) -> str:
    return f"INC-{datetime.fromtimestamp(now_ms / 1000, UTC):%Y%m%d}-"


def _next_auto_id(now_ms: int, names: set[str]) -> str:
    """The next INC-YYYYMMDD-NNN after the ids in `names` (those of the log and of the records)."""
    prefix = auto_id_prefix(now_ms)
    numbers = [int(n[len(prefix) :]) for n in names if n.startswith(prefix) and n[len(prefix) :].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


# --- reading the logs ------------------------------------------------------------------------------
