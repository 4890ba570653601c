"""Read use case: the guided rollback's checklist progress (`tradeops rollback start/resume/restore`),
from its own record (var/audit/stage4/rollback_state.json, written after every step).

No rollback is `present: false`; an unreadable record is reported with its `error`, never as "no
rollback"."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradeops.domain.errors import UserInputError
from tradeops.ops.rollback.checklist import RESTORE_STEPS, ROLLBACK_STEPS
from tradeops.ops.rollback.state import STATE_PATH, load_state
from tradeops.ops_ports import OpsContext


@dataclass(frozen=True, slots=True)
class RollbackQuery:
    path: Path = STATE_PATH


@dataclass(frozen=True, slots=True)
class RollbackStepView:
    phase: str  # rollback | restore
    step: str
    done: bool
    at: str | None
    result: dict[str, Any]  # the step's scalar results (paths, ids, counts)


@dataclass(frozen=True, slots=True)
class RollbackView:
    present: bool
    error: str | None = None
    ticket: str | None = None
    reason: str | None = None
    requested_by: str | None = None
    target: str | None = None  # strategy | scheduler
    strategy: str | None = None
    status: str | None = None  # in_progress | completed | restored
    started_at: str | None = None
    incident_id: str | None = None
    next_step: str | None = None  # the first step not done in the current phase
    steps: tuple[RollbackStepView, ...] = ()


def _steps(phase: str, names: tuple[str, ...], done: dict[str, dict[str, Any]]) -> list[RollbackStepView]:
    rows = []
    for name in names:
        record = done.get(name)
        result = {
            k: v
            for k, v in (record or {}).items()
            if k != "at" and (isinstance(v, str | int | float | bool) or v is None)
        }
        at = record.get("at") if record else None
        rows.append(RollbackStepView(phase, name, record is not None, str(at) if at else None, result))
    return rows


def read_rollback(ctx: OpsContext, query: RollbackQuery) -> RollbackView:
    """The checklist of the current (or last) rollback: every rollback step, then every restore
    step, each done or not with its time and results."""
    del ctx  # the record lives next to the audit artefacts of the working directory
    if not query.path.exists():
        return RollbackView(False)
    try:
        state = load_state(query.path)
    except UserInputError as exc:
        return RollbackView(True, error=str(exc))
    steps = _steps("rollback", ROLLBACK_STEPS, state.completed) + _steps(
        "restore", RESTORE_STEPS, state.restored
    )
    if state.status == "in_progress":
        pending = [s.step for s in steps if s.phase == "rollback" and not s.done]
    elif state.status == "completed":
        pending = [s.step for s in steps if s.phase == "restore" and not s.done]
    else:
        pending = []
    return RollbackView(
        True,
        None,
        state.ticket,
        state.reason,
        state.requested_by,
        state.target,
        state.strategy,
        state.status,
        state.started_at,
        state.incident_id,
        pending[0] if pending else None,
        tuple(steps),
    )
