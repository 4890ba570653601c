"""Append-only writer: one per file (lock), chained and signed entries, group commit.

Durability contract: in "group" mode an entry is on disk once `flush()` returns, and at the latest
about `group_ms` (plus one fsync) after it was appended; in "each" mode once `append()` returns.

Group commit: entries are buffered. When a batch reaches `group_entries` the appending thread
writes it (one write call under an I/O lock, so batches land in order) and hands the fdatasync to
the syncer thread, which also commits a partial batch `group_ms` after its first entry. At most
one hand-off is outstanding: if the syncer has not finished the previous one (under CPU load a
woken thread may wait up to the 5 ms GIL switch interval before it even starts), the appending
thread fdatasyncs itself, which covers both batches. This keeps fsync off the caller's path when
it can and bounds the durable latency to about two batches when it cannot. `flush()` writes and
fdatasyncs in the calling thread.
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

from tradeops.decision_log.entry import HASHERS, encode_entry, genesis_hash, line_hash, utc_timestamp
from tradeops.decision_log.errors import LogWriteError, TornTailError
from tradeops.decision_log.keys import HashAlgorithm, SigningKey, check_algorithm
from tradeops.decision_log.lockfile import LogLock
from tradeops.decision_log.quarantine import RepairInfo, quarantine_tail
from tradeops.decision_log.reader import Tail, count_lines, read_tail
from tradeops.domain.errors import UserInputError
from tradeops.fsutil import fsync_dir

FsyncMode = Literal["group", "each"]
# Operator tools are short-lived: they wait this long for another one to release a log's lock.
OPERATOR_LOCK_WAIT_SECONDS = 10.0


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
    """The only writer of one log file while open. Thread-safe."""

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
        self._hasher = HASHERS[self.algorithm]
        self._head_prefix = self.algorithm + ":"
        self._clock = clock or _utc_now
        self._batch_size = group_entries if fsync_mode == "group" else 1
        self._group_seconds = group_ms / 1000.0
        self._on_durable = on_durable
        self.repaired: RepairInfo | None = None
        self._open_file(lock_timeout, on_torn)
        self._cond = threading.Condition(threading.Lock())
        self._io_lock = threading.Lock()
        self._buffer: list[bytes] = []
        self._first_pending = 0.0
        self._syncer_waiting = False
        self._sync_handed_off = False
        self._closing = False
        self._closed = False
        self._error: BaseException | None = None
        self._written_seq = self._durable_seq = self._seq
        self._syncer: threading.Thread | None = None
        if fsync_mode == "group":
            self._syncer = threading.Thread(
                target=self._run_syncer, name=f"decision-log:{self.path.name}", daemon=True
            )
            self._syncer.start()
        atexit.register(self.close)

    def _open_file(self, lock_timeout: float, on_torn: str) -> None:
        problem = f"decision log {self.path}: cannot open for writing"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_file = LogLock(self.path, lock_timeout)
        except OSError as exc:
            raise UserInputError(f"{problem} ({exc.strerror})") from None
        try:
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
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
            if not existed:
                fsync_dir(self.path.parent)
        except OSError as exc:
            self._lock_file.release()
            raise UserInputError(f"{problem} ({exc.strerror})") from None
        except BaseException:
            self._lock_file.release()
            raise

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
        """Chain, sign and buffer one entry; commit when the batch is full. Return the entry as written."""
        moment = self._clock() if timestamp is None else timestamp
        stamp = (
            moment.isoformat() if type(moment) is datetime and moment.tzinfo is UTC else utc_timestamp(moment)
        )
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
            self._seq, self._head = seq, self._head_prefix + self._hasher(line).hexdigest()
            self._buffer.append(line + b"\n")
            pending = len(self._buffer)
            if pending == 1:
                self._first_pending = time.monotonic()
                if self._syncer_waiting:
                    self._cond.notify()
        if pending >= self._batch_size:
            self._commit_full_batch()
        return entry

    def flush(self) -> None:
        """Return once every entry appended so far is on disk (fsynced)."""
        if self._closed:
            return
        self._check_open()
        self._write_batch()
        self._sync()

    def close(self) -> None:
        """Commit what is buffered, stop the syncer, close the file and release the lock. Idempotent."""
        with self._cond:
            if self._closing:
                return
            self._closing = True
            self._cond.notify_all()
        if self._syncer is not None:
            self._syncer.join()
        atexit.unregister(self.close)
        try:
            if self._error is None:
                self._write_batch()
                self._sync()
        finally:
            self._closed = True
            os.close(self._fd)
            self._lock_file.release()
        if self._error is not None:  # e.g. the syncer's fdatasync failed after the last append
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
        if self._closing:
            raise UserInputError(f"decision log {self.path}: writer is closed")

    def _fail(self, exc: OSError) -> LogWriteError:
        self._error = exc  # after a failed write or fsync the file state is unknown: stop writing
        return LogWriteError(self._failure_message())

    def _write_batch(self) -> None:
        """Write everything buffered, in append order (one write call)."""
        with self._io_lock:
            if self._error is not None:
                raise LogWriteError(self._failure_message()) from self._error
            with self._cond:
                if not self._buffer:
                    return
                batch, self._buffer = self._buffer, []
                last_seq = self._seq
            try:
                view = memoryview(b"".join(batch))
                while view:
                    view = view[os.write(self._fd, view) :]
            except OSError as exc:
                raise self._fail(exc) from exc
            self._written_seq = last_seq

    def _sync(self) -> None:
        """fdatasync: everything written before the call becomes durable."""
        target = self._written_seq
        if target <= self._durable_seq:
            return
        try:
            os.fdatasync(self._fd)
        except OSError as exc:
            raise self._fail(exc) from exc
        with self._cond:
            if target > self._durable_seq:
                self._durable_seq = target
                if self._on_durable is not None:
                    self._on_durable(target)  # under the lock, so calls arrive in seq order

    def _commit_full_batch(self) -> None:
        self._write_batch()
        if self._syncer is not None:
            with self._cond:
                if self._syncer_waiting and not self._sync_handed_off:
                    self._sync_handed_off = True
                    self._cond.notify()
                    return
        self._sync()

    def _next_job(self) -> str | None:
        """Wait for work: "sync" (handed off), "commit" (a partial batch is due), None (closing)."""
        with self._cond:
            while not self._closing:
                if self._sync_handed_off:
                    return "sync"
                timeout = None
                if self._buffer:
                    timeout = self._first_pending + self._group_seconds - time.monotonic()
                    if timeout <= 0:
                        return "commit"
                self._syncer_waiting = True
                self._cond.wait(timeout)
                self._syncer_waiting = False
        return None

    def _run_syncer(self) -> None:
        while (job := self._next_job()) is not None:
            try:
                if job == "commit":
                    self._write_batch()
                self._sync()
            except LogWriteError:
                return
            finally:
                with self._cond:
                    self._sync_handed_off = False
