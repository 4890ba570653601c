"""Guided, resumable rollback of a strategy or the whole scheduler, and the return to baseline."""

from tradeops.ops.rollback.checklist import (
    ROLLBACK_STEPS,
    RollbackBlocked,
    RollbackState,
    load_state,
    restore_baseline,
    resume_rollback,
    start_rollback,
    write_rollback_summary,
)

__all__ = [
    "ROLLBACK_STEPS",
    "RollbackBlocked",
    "RollbackState",
    "load_state",
    "restore_baseline",
    "resume_rollback",
    "start_rollback",
    "write_rollback_summary",
]
