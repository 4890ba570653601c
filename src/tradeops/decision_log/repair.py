"""`tradeops decision-log repair`: quarantine a torn tail, then record the repair as a signed entry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from tradeops.decision_log.keys import SigningKey
from tradeops.decision_log.quarantine import RepairInfo
from tradeops.decision_log.reader import DEFAULT_MAX_LINE_BYTES
from tradeops.decision_log.writer import DecisionLogWriter


def repair_log(
    path: str | Path,
    key: SigningKey | None,
    *,
    stage: str | None = None,
    clock: Callable[[], datetime] | None = None,
    lock_timeout: float = 5.0,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> tuple[RepairInfo, dict[str, Any]] | None:
    """Repair a torn log; None when there was nothing to repair (the log is left untouched)."""
    path = Path(path)
    with DecisionLogWriter(
        path,
        key,
        fsync_mode="each",
        clock=clock,
        lock_timeout=lock_timeout,
        on_torn="quarantine",
        max_line_bytes=max_line_bytes,
    ) as writer:
        info = writer.repaired
        if info is None:
            return None
        entry = writer.append(
            kind="log_repair",
            stage=stage or path.stem,
            status="repaired",
            artefacts={"quarantine": str(info.quarantine), "torn_sha256": info.sha256},
            metadata={"torn_bytes": info.torn_bytes, "first_torn_line": info.first_line},
            tags=("decision_log",),
        )
    return info, entry
