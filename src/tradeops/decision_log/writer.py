"""Append-only writer: one per file (lock), chained and signed entries, group commit, signed anchor.

Durability: in "group" mode an entry is on disk once `flush()` returns, and at the latest about
`group_ms` plus two fsyncs after it was appended; in "each" mode once `append()` returns.
Group commit: a batch is written by the appending thread (one write under an I/O lock, so batches
land in order) when it is full (`group_entries`) or, at the next append, older than `group_ms`; the
syncer thread fdatasyncs whatever has been written, back to back while there is more, and commits a
partial batch `group_ms` after its first entry when no append comes. The syncer needs the GIL back
when an fdatasync returns or work arrives, and a busy appending thread keeps it until its next
blocking call or the switch interval; so a group writer lowers that interval to 0.5 ms
(`syncer.shorten_switch_interval`), the syncer never takes the appenders' lock (it would queue behind
them once per sync), and an appending thread that has written a batch while an fdatasync runs
blocks briefly on that sync's lock (`syncer.hand_off`), handing the GIL to a syncer waiting for it.
`flush()` writes and fdatasyncs in the caller.
A new log starts with a genesis entry (log id, environment, creation time, key id); `<log>.anchor`
(seq and hash of the durable head, signed) is replaced at most every `anchor_interval_s` and on close.
A failed write or fsync stops appends (`failed`) but keeps every entry not known to be durable;
`recover()` cuts the file back to the last durable offset and writes them again, byte for byte.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from tradeops.decision_log.anchor import Anchor, write_anchor
from tradeops.decision_log.entry import (
    HASHERS,
    encode_entry,
    genesis_hash,
    genesis_line,
    line_hash,
    rotation_document,
    sign_document,
    utc_timestamp,
)
from tradeops.decision_log.errors import LogMismatchError, LogWriteError
from tradeops.decision_log.keys import HashAlgorithm, SigningKey, check_algorithm
from tradeops.decision_log.lockfile import LogLock
from tradeops.decision_log.opening import inspect_end
from tradeops.decision_log.quarantine import RepairInfo, quarantine_tail
from tradeops.decision_log.reader import DEFAULT_MAX_LINE_BYTES, read_tail
from tradeops.decision_log.syncer import hand_off, run_anchorer, run_syncer, shorten_switch_interval
from tradeops.domain.errors import UserInputError
from tradeops.fsutil import fsync_dir

FsyncMode = Literal["group", "each"]
# Operator tools are short-lived: they wait this long for another one to release a log's lock.
OPERATOR_LOCK_WAIT_SECONDS = 10.0
DEFAULT_ANCHOR_INTERVAL_S = 1.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


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
        environment: str | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        anchor_interval_s: float = DEFAULT_ANCHOR_INTERVAL_S,
        reanchor: bool = False,
        keep_on_failure: bool = False,
        max_kept_entries: int = 100_000,
    ) -> None:
        if fsync_mode not in ("group", "each"):
            raise UserInputError(f"fsync_mode {fsync_mode!r}: use 'group' or 'each'")
        if group_entries < 1 or group_ms <= 0:
            raise UserInputError("group commit needs group_entries >= 1 and group_ms > 0")
        if max_line_bytes < 1024:
            raise UserInputError(f"max_line_bytes {max_line_bytes}: must be at least 1024")
        self.path = Path(path)
        self.algorithm: HashAlgorithm = check_algorithm(
            hash_algorithm or (key.algorithm if key else "sha256"), "hash_algorithm"
        )
        self._key = key.with_algorithm(self.algorithm) if key else None
        self._hasher = HASHERS[self.algorithm]
        self._head_prefix = self.algorithm + ":"
        self._clock = clock or _utc_now
        self._batch_size = group_entries if fsync_mode == "group" else 1
        self._group_seconds = group_ms / 1000.0
        self._on_durable = on_durable
        self.max_line_bytes = max_line_bytes
        self._anchor_interval = anchor_interval_s
        self._anchor_lock = threading.Lock()
        self._anchored_seq = 0
        self._anchored_at = time.monotonic()
        self.repaired: RepairInfo | None = None
        # Lock order: _io_lock -> _lock -> _durable_lock; _sync_lock -> _durable_lock. The syncer
        # never takes `_lock`, which appenders hold for most of their CPU time: a syncer back from
        # fdatasync that had to win it too would wait a GIL switch interval per try (a convoy).
        self._lock = threading.Lock()  # the chain and the buffer: seq, head, _buffer, _first_pending
        self._durable_lock = threading.Lock()  # _durable_*, _unsynced, on_durable calls (in seq order)
        self._work = threading.Condition(threading.Lock())  # the syncer waits on it for work
        self._io_lock = threading.Lock()
        self._buffer: list[bytes] = []
        self._unsynced: list[tuple[int, str, bytes]] = []  # written, not yet fsynced: (seq, head, bytes)
        self._first_pending = 0.0
        self._last_time: tuple[object, str] = (None, "")
        self._sync_lock = threading.Lock()  # held through an fdatasync and its bookkeeping
        self._sync_started = 0.0  # monotonic start of the fdatasync in progress (0: none)
        # Held by the thread in fdatasync until it has recorded it: what appenders wait on to hand
        # it the GIL (a new lock per fdatasync, so a waiter never holds what the syncer needs next).
        self._sync_done = threading.Lock()
        self._closing = False
        self._closed = False
        self._error: BaseException | None = None
        self.write_failures = 0
        # The runtime keeps appending (in memory, bounded) while a failure halts trading; operator
        # tools want the error at once.
        self._keep_on_failure = keep_on_failure
        self._max_kept = max_kept_entries
        self._open_file(lock_timeout, on_torn, environment or self.path.stem, reanchor)
        self._syncer: threading.Thread | None = None
        self._anchorer: threading.Thread | None = None  # group mode: anchors off the syncer's path
        self._stop = threading.Event()
        if fsync_mode == "group":
            self._start_syncer()
            self._anchorer = threading.Thread(target=run_anchorer, args=(self,), daemon=True)
            self._anchorer.start()
        atexit.register(self.close)

    # --- opening -----------------------------------------------------------------------------------

    def _open_file(self, lock_timeout: float, on_torn: str, environment: str, reanchor: bool) -> None:
        problem = f"decision log {self.path}: cannot open for writing"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_file = LogLock(self.path, lock_timeout)
        except OSError as exc:
            raise UserInputError(f"{problem} ({exc.strerror})") from None
        try:
            tail = read_tail(self.path, self.max_line_bytes)
            if on_torn == "quarantine":
                self.repaired = quarantine_tail(self.path, tail, self._clock())
                if self.repaired is not None:
                    tail = read_tail(self.path, self.max_line_bytes)
            end = inspect_end(self.path, tail, self._key, self.max_line_bytes, check_anchor=not reanchor)
            existed = self.path.exists()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
            if not existed:
                fsync_dir(self.path.parent)
            self._durable_size = tail.complete_length
            if end.last_line is None:
                self._seq, self._head = 0, genesis_hash(self.algorithm)
                self.log_id = uuid.uuid4().hex
            else:
                self._seq, self._head = end.seq, line_hash(end.last_line, self.algorithm)
                self.log_id = end.log_id or ""
                self._anchored_seq = end.anchor.seq if end.anchor and not reanchor else 0
            self._durable_seq, self._durable_head = self._seq, self._head
            self._written = (self._seq, self._head, self._durable_size)
            if end.last_line is None:
                self._write_genesis(environment)
        except OSError as exc:
            self._lock_file.release()
            raise UserInputError(f"{problem} ({exc.strerror})") from None
        except BaseException:
            self._lock_file.release()
            raise

    def _write_genesis(self, environment: str) -> None:
        """Seq 1 of a new log: anchored first, so a crash leaves an anchor at most one entry ahead."""
        created = utc_timestamp(self._clock())
        line = genesis_line(environment, self.log_id, created, self._head, self._key)
        head = self._head_prefix + self._hasher(line).hexdigest()
        write_anchor(self.path, Anchor(self.log_id, 1, head, created, None), self._key)
        self._anchored_seq, self._anchored_at = 1, time.monotonic()
        self._seq, self._head = 1, head
        self._buffer.append(line + b"\n")
        self._write_batch()
        self._sync()

    # --- what callers read ----------------------------------------------------------------------

    @property
    def head(self) -> str:
        """`<alg>:<hex>` of the last appended line (the value to remember for --expect-head)."""
        return self._head

    @property
    def seq(self) -> int:
        """Seq of the last appended entry."""
        return self._seq

    @property
    def durable_seq(self) -> int:
        """Seq of the last entry known to be on disk."""
        return self._durable_seq

    @property
    def key_id(self) -> str | None:
        return self._key.key_id if self._key else None

    @property
    def failed(self) -> BaseException | None:
        """The write or fsync error that stopped the writer (None while healthy)."""
        return self._error

    # --- appending ------------------------------------------------------------------------------

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
        last_moment, stamp = self._last_time  # one read: appends may come from several threads
        if moment is not last_moment:  # sinks pass one datetime object for entries of one instant
            stamp = (
                moment.isoformat()
                if type(moment) is datetime and moment.tzinfo is UTC
                else utc_timestamp(moment)
            )
            self._last_time = (moment, stamp)
        with self._lock:
            if self._error is not None or self._closing:
                self._check_open(appending=True)
            seq = self._seq + 1
            buffer = self._buffer
            if not buffer:  # set before the entry is visible: the syncer reads both without the lock
                self._first_pending = time.monotonic()
            entry, line = encode_entry(
                kind=kind, stage=stage, status=status, timestamp=stamp, artefacts=artefacts,
                metadata=metadata or {}, tags=tags, seq=seq, prev_hash=self._head, log_id=self.log_id,
                key=self._key, extra=extra,
            )  # fmt: skip
            if len(line) >= self.max_line_bytes:
                raise UserInputError(
                    f"decision-log entry is {len(line)} bytes, over the {self.max_line_bytes}-byte line "
                    "cap (decision_log.max_line_bytes): put large content in a file and log its digest"
                )
            self._seq, self._head = seq, self._head_prefix + self._hasher(line).hexdigest()
            buffer.append(line + b"\n")
            pending = len(buffer)
            if pending > 1 and time.monotonic() - self._first_pending > self._group_seconds:
                pending = self._batch_size  # a batch older than group_ms: commit it here (see module doc)
        if pending == 1 and self._syncer is not None:
            with self._work:  # a batch timer starts: the syncer commits it group_ms from now
                self._work.notify()
        if pending >= self._batch_size and self._error is None:
            try:
                self._commit_full_batch()
            except LogWriteError:
                if not self._keep_on_failure:
                    raise
        return entry

    def rotate_key(self, new_key: SigningKey, *, stage: str, reason: str) -> dict[str, Any]:
        """Append a key_rotation entry signed by the new key and endorsed by the current one, make
        it durable, then sign every later entry (and the anchor) with the new key."""
        old = self._key
        if old is None:
            raise UserInputError(f"decision log {self.path} is unsigned: there is no key to rotate from")
        new = new_key.with_algorithm(self.algorithm)
        if new.key_id == old.key_id:
            raise UserInputError(f"--new-key-id {new.key_id!r} is the current key id: choose a new id")
        with self._lock:
            self._check_open()
            seq = self._seq + 1
            document = rotation_document(
                old.key_id, new.key_id, self.log_id, seq, self._head, stage, reason, self._clock()
            )
            entry, line = sign_document(document, new, endorser=old)
            self._seq, self._head = seq, self._head_prefix + self._hasher(line).hexdigest()
            self._buffer.append(line + b"\n")  # made durable at once: no batch timer to start
        self.flush()
        self._key = new
        self._anchor(force=True)
        return entry

    def flush(self) -> None:
        """Return once every entry appended so far is on disk (fsynced)."""
        if self._closed:
            return
        self._check_open()
        self._write_batch()
        self._sync()

    def close(self) -> None:
        """Commit what is buffered, anchor, stop the syncer, close the file and release the lock."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
        with self._work:
            self._work.notify_all()
        self._stop.set()
        for thread in (self._syncer, self._anchorer):
            if thread is not None:
                thread.join()
        atexit.unregister(self.close)
        try:
            if self._error is None:
                self._write_batch()
                self._sync()
                self._anchor(force=True)
        except LogWriteError:
            pass  # reported below
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

    # --- failure and recovery ---------------------------------------------------------------------

    def _failure_message(self) -> str:
        return (
            f"decision log {self.path}: write failed ({self._error}); entries after seq "
            f"{self._durable_seq} are not on disk yet (kept in memory for recover())"
        )

    def _check_open(self, *, appending: bool = False) -> None:
        if self._error is not None:
            kept = len(self._buffer) + len(self._unsynced)
            if not (appending and self._keep_on_failure and kept < self._max_kept):
                raise LogWriteError(self._failure_message()) from self._error
        if self._closing:
            raise UserInputError(f"decision log {self.path}: writer is closed")

    def _fail(self, exc: OSError) -> LogWriteError:
        self._error = exc  # after a failed write or fsync the file state is unknown: stop writing
        self.write_failures += 1
        return LogWriteError(self._failure_message())

    def recover(self) -> bool:
        """After a failure: cut the file back to the last durable byte, write every kept entry
        again and fsync. True when the log is healthy again (then appends are accepted)."""
        with self._io_lock:
            if self._error is None:
                return True
            with self._lock, self._durable_lock:
                buffered = len(self._buffer)
                pending = [data for _seq, _head, data in self._unsynced] + self._buffer
                last_seq, head = self._seq, self._head
            try:
                os.ftruncate(self._fd, self._durable_size)
                view = memoryview(b"".join(pending))
                while view:
                    written = os.write(self._fd, view)  # not in the slice: mypyc 2.4 would call it twice
                    view = view[written:]
                os.fdatasync(self._fd)
            except OSError as exc:
                self._error = exc
                self.write_failures += 1
                return False
            with self._lock, self._durable_lock:
                # Entries appended while this ran stay buffered for the next batch.
                self._buffer, self._unsynced = self._buffer[buffered:], []
                self._durable_size += sum(len(p) for p in pending)
                self._written = (last_seq, head, self._durable_size)
                self._durable_seq, self._durable_head = last_seq, head
                self._error = None
                if self._on_durable is not None:
                    self._on_durable(last_seq)
        try:
            self._anchor(force=True)
        except LogWriteError:
            return False  # the entries are durable; the anchor is retried with the next recover()
        if self._syncer is not None and not self._syncer.is_alive() and not self._closing:
            self._start_syncer()
        return self._error is None

    # --- committing -------------------------------------------------------------------------------

    def _write_batch(self) -> None:
        """Write everything buffered, in append order (one write call)."""
        with self._io_lock:
            if self._error is not None:
                raise LogWriteError(self._failure_message()) from self._error
            with self._lock:
                if not self._buffer:
                    return
                batch, self._buffer = self._buffer, []
                last_seq, head = self._seq, self._head
            data = b"".join(batch)
            with self._durable_lock:
                self._unsynced.append((last_seq, head, data))
            try:
                view = memoryview(data)
                while view:
                    written = os.write(self._fd, view)  # not in the slice: mypyc 2.4 would call it twice
                    view = view[written:]
            except OSError as exc:
                raise self._fail(exc) from exc
            self._written = (last_seq, head, self._written[2] + len(data))  # one assignment: read whole

    def _sync(self, *, anchor: bool = True) -> None:
        """fdatasync: everything written before the call becomes durable (then anchor, if due)."""
        with self._sync_lock:
            target, head, size = self._written
            if target <= self._durable_seq:
                return
            done = threading.Lock()
            done.acquire()
            self._sync_done, self._sync_started = done, time.monotonic()
            try:
                try:
                    os.fdatasync(self._fd)
                except OSError as exc:
                    raise self._fail(exc) from exc
                finally:
                    self._sync_started = 0.0
                with self._durable_lock:
                    if target > self._durable_seq and self._error is None:
                        self._durable_seq, self._durable_head, self._durable_size = target, head, size
                        self._unsynced = [item for item in self._unsynced if item[0] > target]
                        if self._on_durable is not None:
                            self._on_durable(target)  # under the lock, so calls arrive in seq order
            finally:
                done.release()
        if anchor:
            self._anchor(force=False)

    def _anchor(self, *, force: bool) -> None:
        """Replace the anchor with the durable head (rate-limited unless forced)."""
        now = time.monotonic()
        if not force and now - self._anchored_at < self._anchor_interval:
            return
        with self._anchor_lock:
            seq, head = self.durable_head()
            if seq <= self._anchored_seq:
                return
            try:
                anchor = Anchor(self.log_id, seq, head, utc_timestamp(self._clock()), None)
                write_anchor(self.path, anchor, self._key, sync_dir=force)
            except OSError as exc:
                raise self._fail(exc) from exc
            self._anchored_seq, self._anchored_at = seq, now

    def durable_head(self) -> tuple[int, str]:
        """(seq, hash) of the last durable entry: what the anchor, the state store and metrics record."""
        with self._durable_lock:
            return self._durable_seq, self._durable_head

    def _commit_full_batch(self) -> None:
        """Write the batch here (one write) and leave its fdatasync to the syncer, handing it the
        GIL if one is in progress (see the module doc)."""
        self._write_batch()
        if self._syncer is None:
            self._sync()
            return
        hand_off(self)
        with self._work:
            self._work.notify()

    # --- the syncer thread --------------------------------------------------------------------------

    def _start_syncer(self) -> None:
        shorten_switch_interval()
        self._syncer = threading.Thread(
            target=run_syncer, args=(self,), name=f"decision-log:{self.path.name}"
        )
        self._syncer.daemon = True
        self._syncer.start()


__all__ = ["OPERATOR_LOCK_WAIT_SECONDS", "DecisionLogWriter", "FsyncMode", "LogMismatchError"]
