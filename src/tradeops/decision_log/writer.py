"""Append-only writer: one per file (lock), chained and signed entries, group commit.

Durability contract: in "group" mode an entry is on disk once `flush()` returns (or at most about
`group_ms` after it was appended, plus one fsync); in "each" mode once `append()` returns.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import orjson

from tradeops.decision_log.entry import encode_entry, genesis_hash, line_hash, utc_timestamp
from tradeops.decision_log.errors import LogWriteError, TornTailError
from tradeops.decision_log.keys import HashAlgorithm, SigningKey, check_algorithm
from tradeops.decision_log.lockfile import LogLock
from tradeops.decision_log.quarantine import RepairInfo, quarantine_tail
from tradeops.decision_log.reader import Tail, count_lines, read_tail
from tradeops.domain.errors import UserInputError
from tradeops.fsutil import fsync_dir

FsyncMode = Literal["group", "each"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _last_entry(path: Path, tail: Tail) -> dict[str, Any] | None:
    """The last complete entry, or None when the log is empty; a torn tail raises TornTailError."""
    repair = f"run `tradeops decision-log repair {path}`"
    if tail.partial:
        line = count_lines(path) + 1
        raise TornTailError(
            f"decision log {path}: line {line} is torn (no trailing newline, {len(tail.partial)} bytes; "
            f"a crash during a write): {repair}"
        )
    if tail.last_line is None:
        return None
    try:
        entry = orjson.loads(tail.last_line)
    except orjson.JSONDecodeError:
        line = count_lines(path)
        raise TornTailError(f"decision log {path}: last line {line} is not valid JSON: {repair}") from None
    if not isinstance(entry, dict) or type(entry.get("seq")) is not int or "prev_hash" not in entry:
        line = count_lines(path)
        raise UserInputError(
            f"decision log {path}: line {line} is not a chained entry (no seq/prev_hash); "
            "append to a new log file"
        )
    return entry


class DecisionLogWriter:
    """The only writer of one log file while open. Thread-safe; `append` never does I/O in group mode."""

    def __init__(
        self,
        path: str | Path,
        key: SigningKey | None,
        *,
        fsync_mode: FsyncMode = "group",
        group_entries: int = 100,
        group_ms: float = 5.0,
        clock: Callable[[], datetime] | None = None,
        hash_algorithm: str | None = None,
        lock_timeout: float = 0.0,
        on_torn: Literal["raise", "quarantine"] = "raise",
        on_durable: Callable[[int], None] | None = None,
    ) -> None:
        if fsync_mode not in ("group", "each"):
            raise UserInputError(f"fsync_mode {fsync_mode!r}: use 'group' or 'each'")
        if group_entries < 1 or group_ms <= 0:
            raise UserInputError("group commit needs group_entries >= 1 and group_ms > 0")
        self.path = Path(path)
        self.algorithm: HashAlgorithm = check_algorithm(
            hash_algorithm or (key.algorithm if key else "sha256"), "hash_algorithm"
        )
        self._key = key
        self._clock = clock or _utc_now
        self._mode = fsync_mode
        self._group_entries = group_entries
        self._group_seconds = group_ms / 1000.0
        self._max_backlog = max(64 * group_entries, 10_000)
        self._on_durable = on_durable
        self.repaired: RepairInfo | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = LogLock(self.path, lock_timeout)
        try:
            self._fd = self._open(on_torn)
        except BaseException:
            self._lock_file.release()
            raise
        self._cond = threading.Condition(threading.Lock())
        self._buffer: list[bytes] = []
        self._first_pending = 0.0
        self._flush_requested = False
        self._closing = False
        self._closed = False
        self._error: BaseException | None = None
        self._durable_seq = self._seq
        self._flusher: threading.Thread | None = None
        if fsync_mode == "group":
            self._flusher = threading.Thread(
                target=self._run, name=f"decision-log:{self.path.name}", daemon=True
            )
            self._flusher.start()
        atexit.register(self.close)

    def _open(self, on_torn: str) -> int:
        tail = read_tail(self.path)
        if on_torn == "quarantine":
            self.repaired = quarantine_tail(self.path, tail, self._clock())
            if self.repaired is not None:
                tail = read_tail(self.path)
        last = _last_entry(self.path, tail)
        self._seq: int = last["seq"] if last else 0
        self._head = (
            line_hash(tail.last_line, self.algorithm)
            if last and tail.last_line is not None
            else genesis_hash(self.algorithm)
        )
        existed = self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        if not existed:
            fsync_dir(self.path.parent)
        return fd

    @property
    def head(self) -> str:
        """`<alg>:<hex>` of the last appended line (the value to remember for --expect-head)."""
        return self._head

    @property
    def seq(self) -> int:
        """Seq of the last appended entry (0 for an empty log)."""
        return self._seq

    @property
    def durable_seq(self) -> int:
        """Seq of the last entry known to be on disk."""
        return self._durable_seq

    def append(
        self,
        *,
        kind: str,
        stage: str,
        status: str,
        artefacts: Mapping[str, Any],
        metadata: Mapping[str, Any] | None = None,
        tags: Sequence[str] = (),
        timestamp: datetime | str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Chain, sign and queue one entry; return it as written."""
        stamp = utc_timestamp(self._clock() if timestamp is None else timestamp)
        with self._cond:
            self._check_open()
            seq = self._seq + 1
            entry, line = encode_entry(
                kind=kind,
                stage=stage,
                status=status,
                timestamp=stamp,
                artefacts=artefacts,
                metadata=metadata or {},
                tags=tags,
                seq=seq,
                prev_hash=self._head,
                key=self._key,
                extra=extra,
            )
            self._seq, self._head = seq, line_hash(line, self.algorithm)
            if self._mode == "each":
                self._write(line + b"\n", seq)
                return entry
            self._buffer.append(line + b"\n")
            pending = len(self._buffer)
            if pending == 1:
                self._first_pending = time.monotonic()
                self._cond.notify_all()
            elif pending == self._group_entries:
                self._cond.notify_all()
            elif pending >= self._max_backlog:
                self._cond.wait_for(lambda: len(self._buffer) < self._max_backlog or self._error is not None)
        return entry

    def flush(self) -> None:
        """Return once every entry appended so far is on disk (fsynced)."""
        with self._cond:
            if self._closed:
                return
            self._check_open()
            target = self._seq
            if self._durable_seq >= target:
                return
            self._flush_requested = True
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._durable_seq >= target or self._error is not None)
            self._check_open()

    def close(self) -> None:
        """Flush, stop the flusher, close the file and release the lock. Idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closing = True
            self._cond.notify_all()
        if self._flusher is not None:
            self._flusher.join()
        with self._cond:
            self._closed = True
        atexit.unregister(self.close)
        os.close(self._fd)
        self._lock_file.release()
        if self._error is not None:
            raise LogWriteError(self._failure_message()) from self._error

    def __enter__(self) -> DecisionLogWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _failure_message(self) -> str:
        return (
            f"decision log {self.path}: write failed ({self._error}); entries after seq "
            f"{self._durable_seq} may not be on disk"
        )

    def _check_open(self) -> None:
        if self._error is not None:
            raise LogWriteError(self._failure_message()) from self._error
        if self._closing or self._closed:
            raise UserInputError(f"decision log {self.path}: writer is closed")

    def _write(self, data: bytes, last_seq: int) -> None:
        """Write and fsync; called by the flusher thread, or under the mutex in "each" mode."""
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fdatasync(self._fd)
        except OSError as exc:
            self._error = exc  # after a failed fsync the file state is unknown: stop writing
            raise LogWriteError(self._failure_message()) from exc
        self._durable_seq = last_seq
        if self._on_durable is not None:
            self._on_durable(last_seq)

    def _next_batch(self) -> tuple[list[bytes], int] | None:
        """Wait until a batch is due (full, old enough, flush requested or closing); None to stop."""
        with self._cond:
            self._cond.wait_for(lambda: bool(self._buffer) or self._closing)
            if not self._buffer:
                return None
            while not (self._closing or self._flush_requested or len(self._buffer) >= self._group_entries):
                remaining = self._first_pending + self._group_seconds - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            batch, self._buffer = self._buffer, []
            self._flush_requested = False
            self._cond.notify_all()  # wake appenders blocked on a full backlog
            return batch, self._seq

    def _run(self) -> None:
        while (due := self._next_batch()) is not None:
            batch, last_seq = due
            try:
                self._write(b"".join(batch), last_seq)
            except LogWriteError:
                with self._cond:
                    self._cond.notify_all()
                return
            with self._cond:
                self._cond.notify_all()
