"""Reading a log: every entry in order, the last few entries, and the state of the tail for writers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tradeops.domain.errors import TamperDetected, UserInputError

_BLOCK = 64 * 1024


def _open(path: Path) -> Any:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise UserInputError(f"decision log {path}: file not found") from None
    except OSError as exc:
        raise UserInputError(f"decision log {path}: cannot read ({exc.strerror})") from None


def _read_back(handle: Any, size: int, newlines: int) -> tuple[int, bytes]:
    """Read backwards from the end until `newlines` newlines are seen; return (start offset, bytes)."""
    start, data = size, b""
    while start > 0 and data.count(b"\n") < newlines:
        step = min(_BLOCK, start)
        start -= step
        handle.seek(start)
        data = handle.read(step) + data
    return start, data


def count_lines(path: Path, upto: int | None = None) -> int:
    """Newlines in the first `upto` bytes (the whole file by default)."""
    total, remaining = 0, upto
    with _open(path) as handle:
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
    """The end of a log file: its last complete line and any bytes after the last newline."""

    size: int
    last_line: bytes | None  # without the newline; None when the file has no complete line
    last_line_offset: int
    partial: bytes  # bytes after the last newline (a torn write when non-empty)

    @property
    def complete_length(self) -> int:
        """Bytes up to and including the last newline."""
        return self.size - len(self.partial)


def read_tail(path: Path) -> Tail:
    """Inspect the end of `path` (an absent file is an empty log)."""
    if not path.exists():
        return Tail(0, None, 0, b"")
    with _open(path) as handle:
        size = handle.seek(0, os.SEEK_END)
        start, data = _read_back(handle, size, 2)
    end = data.rfind(b"\n")
    partial = data[end + 1 :] if end >= 0 else data
    if end < 0:
        return Tail(size, None, 0, partial)
    line_start = data.rfind(b"\n", 0, end) + 1
    return Tail(size, data[line_start:end], start + line_start, partial)


def iter_entries(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (1-based line number, entry) for every complete line; a torn last line is skipped.

    A line that is not a JSON object raises TamperDetected (run `tradeops decision-log verify`).
    """
    path = Path(path)
    with _open(path) as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.endswith(b"\n"):
                return
            try:
                entry = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise TamperDetected(f"{path}:{number}: not valid JSON") from None
            if not isinstance(entry, dict):
                raise TamperDetected(f"{path}:{number}: not a JSON object")
            yield number, entry


def tail(path: str | Path, n: int) -> list[dict[str, Any]]:
    """The last `n` complete entries, oldest first (reads only the end of the file)."""
    path = Path(path)
    if n <= 0:
        return []
    with _open(path) as handle:
        size = handle.seek(0, os.SEEK_END)
        start, data = _read_back(handle, size, n + 1)
    lines = data.split(b"\n")
    lines.pop()  # the part after the last newline: empty, or a torn write
    if start > 0:
        lines = lines[1:]  # the first piece may be the end of an earlier line
    entries: list[dict[str, Any]] = []
    for raw in lines[-n:]:
        try:
            entry = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise TamperDetected(f"{path}: a line near the end is not valid JSON") from None
        entries.append(entry)
    return entries
