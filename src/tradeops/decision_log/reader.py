"""Reading a log: every entry in order, the last few entries, and the state of the tail for writers.

Input is bounded: no line longer than `max_line_bytes` (default 1 MiB) is ever held in memory, and
the tail is found by scanning backwards in fixed blocks, so opening a log costs O(its last lines)
whatever the size of the file or of a runaway last line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tradeops.domain.errors import TamperDetected, UserInputError

DEFAULT_MAX_LINE_BYTES = 1 << 20
_BLOCK = 64 * 1024


def open_log(path: Path) -> Any:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise UserInputError(f"decision log {path}: file not found") from None
    except IsADirectoryError:
        raise UserInputError(f"decision log {path}: is a directory, not a log file") from None
    except OSError as exc:
        raise UserInputError(f"decision log {path}: cannot read ({exc.strerror})") from None


def newline_before(handle: Any, end: int, limit: int | None) -> int | None:
    """Offset of the last newline before offset `end` (-1: none, the file starts a line), scanning
    backwards block by block; None when `limit` bytes were scanned without finding one."""
    position, scanned = end, 0
    while position > 0:
        if limit is not None and scanned >= limit:
            return None
        step = min(_BLOCK, position)
        position -= step
        handle.seek(position)
        found: int = handle.read(step).rfind(b"\n")
        if found >= 0:
            return position + found
        scanned += step
    return -1


def count_lines(path: Path, upto: int | None = None) -> int:
    """Newlines in the first `upto` bytes (the whole file by default). O(file): error paths only."""
    total, remaining = 0, upto
    with open_log(path) as handle:
        while remaining is None or remaining > 0:
            chunk = handle.read(_BLOCK * 16 if remaining is None else min(_BLOCK * 16, remaining))
            if not chunk:
                break
            total += chunk.count(b"\n")
            if remaining is not None:
                remaining -= len(chunk)
    return total


@dataclass(frozen=True, slots=True)
class Tail:
    """The end of a log file: its last complete line and what follows the last newline."""

    size: int
    last_line: bytes | None  # without the newline; None when absent or longer than the cap
    last_line_offset: int
    partial: bytes  # bytes after the last newline (a torn write when non-empty); b"" when overlong
    partial_length: int = 0
    overlong: bool = False  # the last line or the torn bytes exceed the line cap

    @property
    def complete_length(self) -> int:
        """Bytes up to and including the last newline."""
        return self.size - self.partial_length


def read_tail(path: Path, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Tail:
    """Inspect the end of `path` in O(max_line_bytes) time and memory (an absent file is empty)."""
    if not path.exists():
        return Tail(0, None, 0, b"")
    with open_log(path) as handle:
        size = handle.seek(0, os.SEEK_END)
        last_newline = newline_before(handle, size, max_line_bytes + 1)
        if last_newline is None:  # torn bytes longer than any line may be
            return Tail(size, None, 0, b"", size, overlong=True)
        partial_length = size - last_newline - 1
        handle.seek(last_newline + 1)
        partial = handle.read(partial_length)
        if last_newline < 0:
            return Tail(size, None, 0, partial, partial_length)
        previous = newline_before(handle, last_newline, max_line_bytes + 1)
        if previous is None or last_newline - previous - 1 > max_line_bytes:
            return Tail(size, None, 0, partial, partial_length, overlong=True)
        handle.seek(previous + 1)
        line = handle.read(last_newline - previous - 1)
    return Tail(size, line, previous + 1, partial, partial_length)


def read_line(handle: Any, max_line_bytes: int) -> bytes | None:
    """The next line including its newline, b"" at the end, None when it is longer than the cap
    (callers stop there: at most the cap is read)."""
    raw = handle.readline(max_line_bytes + 1)
    if len(raw) <= max_line_bytes or raw.endswith(b"\n"):
        return bytes(raw)
    return None


def iter_entries(
    path: str | Path, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (1-based line number, entry) for every complete line; a torn last line is skipped.

    A line that is not a JSON object, or is longer than the cap, raises TamperDetected (run
    `tradeops decision-log verify`).
    """
    path = Path(path)
    with open_log(path) as handle:
        number = 0
        while True:
            number += 1
            raw = read_line(handle, max_line_bytes)
            if raw is None:
                raise TamperDetected(f"{path}:{number}: line longer than {max_line_bytes} bytes")
            if not raw.endswith(b"\n"):
                return
            try:
                entry = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise TamperDetected(f"{path}:{number}: not valid JSON") from None
            if not isinstance(entry, dict):
                raise TamperDetected(f"{path}:{number}: not a JSON object")
            yield number, entry


def tail(path: str | Path, n: int, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> list[dict[str, Any]]:
    """The last `n` complete entries, oldest first (reads at most about n lines' worth of the end)."""
    path = Path(path)
    if n <= 0:
        return []
    with open_log(path) as handle:
        size = handle.seek(0, os.SEEK_END)
        end = newline_before(handle, size, max_line_bytes + 1)
        raws: list[bytes] = []
        while end is not None and end >= 0 and len(raws) < n:
            start = newline_before(handle, end, max_line_bytes + 1)
            if start is None or end - start - 1 > max_line_bytes:
                raise TamperDetected(f"{path}: a line near the end is longer than {max_line_bytes} bytes")
            handle.seek(start + 1)
            raws.append(handle.read(end - start - 1))
            end = start
    if end is None:
        raise TamperDetected(f"{path}: the torn end is longer than {max_line_bytes} bytes")
    entries: list[dict[str, Any]] = []
    for raw in reversed(raws):
        try:
            entries.append(orjson.loads(raw))
        except orjson.JSONDecodeError:
            raise TamperDetected(f"{path}: a line near the end is not valid JSON") from None
    return entries
