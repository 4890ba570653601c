"""Move a torn tail (the bytes of a write cut short by a crash) out of a log into a quarantine file.

The torn bytes are streamed (bounded memory): a runaway last line of any size can be moved out.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson

from tradeops.decision_log.reader import Tail, count_lines, newline_before
from tradeops.fsutil import fsync_dir

_COPY_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class RepairInfo:
    """What a repair moved: `torn_bytes` bytes from line `first_line` on, now in `quarantine`."""

    quarantine: Path
    torn_bytes: int
    sha256: str
    first_line: int


def _torn_start(path: Path, tail: Tail) -> int | None:
    """Offset where the torn region starts: after the last newline, or the unparsable last line."""
    if tail.overlong:
        # Torn bytes longer than the cap: cut after the last newline; an overlong last line: cut it.
        end = tail.size if tail.partial_length == tail.size else tail.complete_length - 1
        with path.open("rb") as handle:
            found = newline_before(handle, end, None)
        return (found if found is not None else -1) + 1
    start = tail.complete_length if tail.partial_length else None
    if tail.last_line is not None:
        try:
            parsed = orjson.loads(tail.last_line)
        except orjson.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            start = tail.last_line_offset
    return start


def _copy_out(path: Path, start: int, target: Path) -> tuple[int, str]:
    """Copy bytes from `start` to the end of `path` into a new file `target` (atomic, mode 600)."""
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    copied = 0
    try:
        os.fchmod(fd, 0o600)
        with path.open("rb") as source, os.fdopen(fd, "wb") as sink:
            source.seek(start)
            while block := source.read(_COPY_BLOCK):
                digest.update(block)
                sink.write(block)
                copied += len(block)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
    return copied, "sha256:" + digest.hexdigest()


def quarantine_tail(path: Path, tail: Tail, now: datetime) -> RepairInfo | None:
    """Copy the torn bytes to `<path>.torn-<utc time>` (atomic), then cut them from the log."""
    start = _torn_start(path, tail)
    if start is None:
        return None
    base = f"{path.name}.torn-{now.strftime('%Y%m%dT%H%M%S%fZ')}"
    quarantine, suffix = path.with_name(base), 1
    while quarantine.exists():
        quarantine, suffix = path.with_name(f"{base}.{suffix}"), suffix + 1
    copied, digest = _copy_out(path, start, quarantine)
    with path.open("r+b") as handle:
        handle.truncate(start)
        handle.flush()
        os.fsync(handle.fileno())
    return RepairInfo(quarantine, copied, digest, count_lines(path, start) + 1)
