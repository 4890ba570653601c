"""The runtime's DecisionSink when it keeps state: log first, then the projection.

Every record is appended to the signed log (the system of record). Records that change state are
kept as pending until the log says they are durable (its group commit's callback); `commit()`,
called by the engine after each step, folds the durable ones into the projection and writes the
changed rows plus the log position in ONE store transaction. While the runtime replays at speed
it does so at most every `commit_interval_s` of wall time, or once `max_pending` entries wait, so
many log batches share one transaction and a row changed by several of them is written once;
`commit(force=True)` (the real-time scheduler waiting for its next tick, a group commit after its
step), `flush()` and `close()` project at once. So a crash can
leave the store behind the log (the next start replays the tail) but never ahead of it, and never
with a fill the log does not hold. A store that cannot be written stops trading (`on_failure`);
the log goes on.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from time import time_ns
from typing import Any, Protocol

from tradeops.domain.clock import MarketTimeText
from tradeops.domain.errors import Fatal
from tradeops.domain.events import DecisionRecord
from tradeops.persistence.projection import STATE_KINDS, Projection, ProjectionError
from tradeops.persistence.sql_store import LogPosition, SqlStateStore

COMMIT_INTERVAL_S = 0.25  # at replay speed the store lags the durable log by about this (plus one step)
MAX_PENDING = 20_000
_seq_of = itemgetter(0)


class LogAppender(Protocol):
    """What the sink needs of the decision-log writer (decision_log.writer.DecisionLogWriter)."""

    @property
    def head(self) -> str: ...

    @property
    def seq(self) -> int: ...

    @property
    def durable_seq(self) -> int: ...

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
    ) -> dict[str, Any]: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


def _moment(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms // 1000, tz=UTC).replace(microsecond=ts_ms % 1000 * 1000)


class ProjectingSink:
    """DecisionSink: append to the log; project durable state-changing entries into the store."""

    def __init__(
        self,
        writer: LogAppender,
        store: SqlStateStore,
        projection: Projection,
        *,
        log_id: Callable[[], str],
        stage: str,
        step_ms: Callable[[], int],
        position: LogPosition | None = None,
        wall_ms: Callable[[], int] | None = None,
        commit_interval_s: float = COMMIT_INTERVAL_S,
        max_pending: int = MAX_PENDING,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.writer = writer
        self._commit_interval = commit_interval_s
        self._max_pending = max_pending
        self._monotonic = monotonic
        self._next_commit = 0.0
        self._wall_ms = wall_ms  # None: time.time_ns() in milliseconds, read inline
        self.store = store
        self.projection = projection
        self.stage = stage
        self._log_id_source = log_id
        self._log_id = ""
        self._step_ms = step_ms
        self._lock = threading.Lock()
        self._pending: list[tuple[int, str, dict[str, Any]]] = []
        self._last_step = -1
        self._durable = 0
        self._position = position
        self.failure: str | None = None
        self.on_failure: Callable[[str], None] | None = None
        self.commits = 0
        self._moment: tuple[int, datetime] = (0, _moment(0))
        self._market_iso = MarketTimeText()
        self._market: tuple[int, str] = (0, self._market_iso(0))  # the last event time and its text

    def mark_durable(self, seq: int) -> None:
        """The writer's group-commit callback: everything up to `seq` is on disk."""
        self._durable = seq

    def record(self, record: DecisionRecord) -> None:
        step = self._step_ms()
        # `timestamp` is wall-clock time (when it was written, lined up with operator entries);
        # `market_time` / `ts_ms` are the event's time on the market clock (they differ in a replay).
        # The records of one step mostly share both: the last of each is kept (no call per record).
        ts, kind = record.ts, record.kind
        last_ts, market = self._market
        if ts != last_ts:
            market = self._market_iso(ts)
            self._market = (ts, market)
        ms = time_ns() // 1_000_000 if self._wall_ms is None else self._wall_ms()
        last_ms, moment = self._moment
        if ms != last_ms:
            moment = _moment(ms)
            self._moment = (ms, moment)
        metadata = {**record.metadata, "step_ms": step, "ts_ms": ts, "market_time": market}
        with self._lock:
            writer = self.writer
            entry = writer.append(
                kind=kind,
                stage=record.stage or self.stage,
                status=record.status,
                artefacts=record.artefacts,
                metadata=metadata,
                tags=record.tags,
                timestamp=moment,
            )
            if self.failure is None and (kind in STATE_KINDS or step != self._last_step):
                self._pending.append((entry["seq"], writer.head, entry))
                self._last_step = step

    def commit(self, *, force: bool = False) -> None:
        """Project every durable pending entry into the store: one transaction, or none. Unless
        forced, only when `commit_interval_s` has passed since the last commit or `max_pending`
        entries wait."""
        pending = self._pending
        # The common no-op: nothing pending, or none of it durable yet (O(1)).
        if not pending or pending[0][0] > self._durable or self.failure is not None:
            return
        if not force and len(pending) < self._max_pending:
            now = self._monotonic()
            if now < self._next_commit:
                return
            self._next_commit = now + self._commit_interval
        durable = self._durable
        with self._lock:
            pending = self._pending
            cut = bisect_right(pending, durable, key=_seq_of)  # seqs are increasing
            batch, self._pending = pending[:cut], pending[cut:]
        try:
            apply = self.projection.apply
            for seq, _head, entry in batch:
                apply(seq, entry)
            changes, new_orders = self.projection.drain()
            seq, head, _ = batch[-1]
            self._log_id = self._log_id or self._log_id_source()
            position = LogPosition(self._log_id, seq, head)
            self.store.apply(changes, position, new_orders)
        except (ProjectionError, Fatal) as exc:
            self._fail(str(exc))
            return
        self._position = position
        self.projection.compact()
        self.commits += 1

    def _fail(self, reason: str) -> None:
        self.failure = reason
        if self.on_failure is not None:
            self.on_failure(reason)

    @property
    def position(self) -> LogPosition | None:
        """The log position the store reflects (after the last successful commit)."""
        return self._position

    def flush(self) -> None:
        self.writer.flush()
        self.commit(force=True)

    def close(self) -> None:
        try:
            self.writer.flush()
            self.commit(force=True)
        finally:
            self.writer.close()
