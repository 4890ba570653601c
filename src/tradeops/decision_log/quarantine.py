"""Move a torn tail (the bytes of a write cut short by a crash) out of a log into a quarantine file."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson

from tradeops.decision_log.reader import Tail, count_lines
from tradeops.fsutil import atomic_write_bytes


@dataclass(frozen=True, slots=True)
class RepairInfo:
    """What a repair moved: `torn_bytes` bytes from line `first_line` on, now in `quarantine`."""

    quarantine: Path
    torn_bytes: int
    sha256: str
    first_line: int


def _torn_start(tail: Tail) -> int | None:
    """Offset where the torn region starts: after the last newline, or the unparsable last line."""
    start = tail.complete_length if tail.partial else None
    if tail.last_line is not None:
        try:
            parsed = orjson.loads(tail.last_line)
        except orjson.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            start = tail.last_line_offset
    return start


def quarantine_tail(path: Path, tail: Tail, now: datetime) -> RepairInfo | None:
    """Copy the torn bytes to `<path>.torn-<utc time>` (atomic), then cut them from the log."""
    start = _torn_start(tail)
    if start is None:
        return None
    with path.open("r+b") as handle:
        handle.seek(start)
        torn = handle.read()
        base = f"{path.name}.torn-{now.strftime('%Y%m%dT%H%M%S%fZ')}"
        quarantine, suffix = path.with_name(base), 1
        while quarantine.exists():
            quarantine, suffix = path.with_name(f"{base}.{suffix}"), suffix + 1
        atomic_write_bytes(quarantine, torn, mode=0o600)
        handle.truncate(start)
        handle.flush()
        os.fsync(handle.fileno())
    digest = "sha256:" + hashlib.sha256(torn).hexdigest()
    return RepairInfo(quarantine, len(torn), digest, count_lines(path, start) + 1)
