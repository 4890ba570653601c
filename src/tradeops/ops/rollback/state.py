"""The rollback's own record: which steps are done, with what result. Written atomically after
every step, so `tradeops rollback resume` continues exactly where a crash stopped it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradeops.domain.errors import TradeopsError, UserInputError
from tradeops.fsutil import atomic_write_json

STAGE_DIR = Path("var/audit/stage4")
STATE_PATH = STAGE_DIR / "rollback_state.json"
SUMMARY_PATH = STAGE_DIR / "rollback_summary.json"


class RollbackBlocked(TradeopsError):
    """A step found a condition that must be fixed first (e.g. the security audit failed). Exit 1."""


def utc_now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class RollbackState:
    ticket: str
    reason: str
    requested_by: str
    target: str  # "strategy" or "scheduler"
    strategy: str | None
    started_at: str
    status: str = "in_progress"  # in_progress | completed | restored
    completed: dict[str, dict[str, Any]] = field(default_factory=dict)
    restored: dict[str, dict[str, Any]] = field(default_factory=dict)
    incident_id: str | None = None

    def done(self, step: str) -> bool:
        return step in self.completed

    def record(self, step: str, result: dict[str, Any]) -> None:
        self.completed[step] = {"at": utc_now(), **result}

    def save(self, path: Path = STATE_PATH) -> None:
        atomic_write_json(path, asdict(self))


def load_state(path: Path = STATE_PATH) -> RollbackState:
    if not path.exists():
        raise UserInputError(f"{path}: no rollback in progress; start one with `tradeops rollback start`")
    try:
        return RollbackState(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise UserInputError(f"{path}: unreadable rollback state ({exc}); inspect or remove it") from None
