"""The rollback checklist of the runbooks as code. Each step is idempotent and recorded (state file
and a signed decision-log entry), so a crash mid-way is resumed with `tradeops rollback resume`."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from tradeops.domain.errors import UserInputError
from tradeops.fsutil import atomic_write_json
from tradeops.ops.controls import Actor, OpsContext
from tradeops.ops.rollback import steps
from tradeops.ops.rollback.state import (
    STAGE_DIR,
    STATE_PATH,
    SUMMARY_PATH,
    RollbackBlocked,
    RollbackState,
    load_state,
    utc_now,
)

ROLLBACK_STEPS: tuple[str, ...] = (
    "confirm",
    "secure_context",
    "disable",
    "silence_alerts",
    "lower_allocation",
    "smoke",
    "post_load_test",
    "summary",
)
RESTORE_STEPS: tuple[str, ...] = ("restore_config", "enable", "paper_smoke", "load_test", "close")

Progress = Callable[[str, int, int], None]


def _audit(ctx: OpsContext, state: RollbackState, step: str, status: str, result: dict[str, Any]) -> None:
    scalars = {k: v for k, v in result.items() if isinstance(v, str | int | float | bool) or v is None}
    ctx.operator_log.append(
        kind="rollback",
        status=status,
        artefacts={
            "ticket": state.ticket,
            "step": step,
            **({"strategy": state.strategy} if state.strategy else {}),
        },
        metadata={
            "target": state.target,
            "reason": state.reason,
            "requested_by": state.requested_by,
            **scalars,
        },
        tags=("rollback", step),
    )


def _run(
    ctx: OpsContext,
    state: RollbackState,
    names: tuple[str, ...],
    table: dict[str, Any],
    done: dict[str, dict[str, Any]],
    progress: Progress | None,
) -> RollbackState:
    for index, name in enumerate(names):
        if progress is not None:
            progress(name, index, len(names))
        if name in done:
            continue
        try:
            result = table[name](ctx, state)
        except RollbackBlocked:
            _audit(ctx, state, name, "blocked", {})
            state.save()
            raise
        done[name] = {"at": utc_now(), **result}
        state.save()
        _audit(ctx, state, name, "step_completed", result)
    if progress is not None:
        progress("done", len(names), len(names))
    return state


ROLLBACK_TABLE: dict[str, Callable[[OpsContext, RollbackState], dict[str, Any]]] = {
    "confirm": steps.confirm,
    "secure_context": steps.secure_context,
    "disable": steps.disable,
    "silence_alerts": steps.silence_alerts,
    "lower_allocation": steps.lower_allocation,
    "smoke": steps.smoke,
    "post_load_test": steps.post_load_test,
    "summary": lambda ctx, state: {"path": str(write_rollback_summary(ctx, state))},
}
RESTORE_TABLE: dict[str, Callable[[OpsContext, RollbackState], dict[str, Any]]] = {
    "restore_config": steps.restore_config,
    "enable": steps.enable,
    "paper_smoke": steps.paper_smoke,
    "load_test": steps.baseline_load_test,
    "close": steps.close,
}


def start_rollback(
    ctx: OpsContext,
    *,
    strategy: str | None,
    ticket: str,
    reason: str,
    requested_by: str,
    progress: Progress | None = None,
) -> RollbackState:
    if not ticket.strip() or not reason.strip():
        raise UserInputError("--ticket and --reason must not be empty")
    if STATE_PATH.exists():
        current = load_state()
        if current.status == "in_progress":
            raise UserInputError(
                f"a rollback for {current.ticket} is in progress; run `tradeops rollback resume` "
                "(or `tradeops rollback restore` when it is complete)"
            )
        archived = (
            STAGE_DIR / f"rollback_state.{current.ticket}.{datetime.now().strftime('%Y%m%dT%H%M%S')}.json"
        )
        shutil.move(STATE_PATH, archived)
    if strategy is not None:
        steps.validate_strategy(ctx, strategy)
    state = RollbackState(
        ticket=ticket.strip(),
        reason=reason.strip(),
        requested_by=requested_by,
        target="strategy" if strategy else "scheduler",
        strategy=strategy,
        started_at=utc_now(),
    )
    state.save()
    return resume_rollback(ctx, progress, state)


def resume_rollback(
    ctx: OpsContext, progress: Progress | None = None, state: RollbackState | None = None
) -> RollbackState:
    state = state or load_state()
    if state.status != "in_progress":
        raise UserInputError(f"rollback {state.ticket} is already {state.status}; nothing to resume")
    _run(ctx, state, ROLLBACK_STEPS, ROLLBACK_TABLE, state.completed, progress)
    state.status = "completed"
    state.save()
    return state


def restore_baseline(
    ctx: OpsContext, *, from_git: str | None = None, progress: Progress | None = None
) -> RollbackState:
    state = load_state()
    if state.status == "in_progress":
        raise UserInputError(f"rollback {state.ticket} is not complete; run `tradeops rollback resume` first")
    if state.status == "restored":
        raise UserInputError(f"rollback {state.ticket} was already restored")
    if from_git:
        state.restored.setdefault("_options", {"from_git": from_git})
    _run(ctx, state, RESTORE_STEPS, RESTORE_TABLE, state.restored, progress)
    state.status = "restored"
    state.save()
    ctx.operator_log.append(
        kind="rollback",
        status="restored",
        artefacts={"ticket": state.ticket, **({"strategy": state.strategy} if state.strategy else {})},
        metadata={"target": state.target},
        tags=("rollback", "restored"),
    )
    return state


def write_rollback_summary(ctx: OpsContext, state: RollbackState, path: Path = SUMMARY_PATH) -> Path:
    """var/audit/stage4/rollback_summary.json: what was done, when, and the artefacts' digests."""
    started = datetime.fromisoformat(state.started_at)
    duration = (datetime.fromisoformat(utc_now()) - started).total_seconds() / 60
    payload = {
        "schema": "tradeops.stage4.rollback_summary",
        "schema_version": 1,
        "ticket": state.ticket,
        "incident_id": state.incident_id or state.ticket,
        "target": state.target,
        "strategy": state.strategy,
        "reason": state.reason,
        "requested_by": state.requested_by,
        "started_at": state.started_at,
        "completed_at": utc_now(),
        "duration_min": round(duration, 2),
        "environment": ctx.environment,
        "steps": [
            {"step": name, **state.completed[name]} for name in ROLLBACK_STEPS if name in state.completed
        ],
        "artefacts": steps.artefact_digests(),
    }
    return atomic_write_json(path, payload)


__all__ = [
    "ROLLBACK_STEPS",
    "Actor",
    "RollbackBlocked",
    "RollbackState",
    "load_state",
    "restore_baseline",
    "resume_rollback",
    "start_rollback",
    "write_rollback_summary",
]
