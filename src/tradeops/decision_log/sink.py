"""The runtime's DecisionSink port backed by a DecisionLogWriter (one entry per DecisionRecord),
and the gate that halts trading while the log cannot make entries durable.

Fail closed: when a write or fsync fails the writer keeps every entry in memory (bounded) and the
`AuditGate` refuses new orders (kill-switch semantics: the engine records the halt and applies the
override policy). About once a second the sink tries to recover the log; once that works it appends
a `decision_log/recovered` entry and only when that entry is durable does trading resume.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from time import time_ns
from typing import Any

from tradeops.decision_log.errors import LogWriteError
from tradeops.decision_log.writer import DecisionLogWriter
from tradeops.domain.clock import MarketTimeText
from tradeops.domain.events import DecisionRecord, DenialReason
from tradeops.runtime.ports import KillPolicy, OrderGate
from tradeops.runtime.stats import RuntimeStats

RECOVERY_RETRY_SECONDS = 1.0


class FileDecisionSink:
    """Cheap per call: the writer only buffers; fsync happens in its group-commit thread."""

    def __init__(
        self,
        writer: DecisionLogWriter,
        stage: str,
        *,
        stats: RuntimeStats | None = None,
        retry_seconds: float = RECOVERY_RETRY_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] | None = None,
    ) -> None:
        self.writer = writer
        self._wall_ms = wall_ms  # None: time.time_ns() in milliseconds, read inline
        self.stage = stage
        self.stats = stats
        self._retry_seconds = retry_seconds
        self._monotonic = monotonic
        self._last_time: tuple[int, datetime] = (0, datetime.fromtimestamp(0, tz=UTC))
        self._market_iso = MarketTimeText()  # epoch ms -> isoformat, the text to the second once a second
        self._market_text: tuple[int, str] = (0, self._market_iso(0))  # the last event time, its text
        self._last_wall: tuple[int, datetime] = (-1, self._last_time[1])
        self._halt_reason: str | None = None
        self._next_try = 0.0
        self._failures_seen = 0

    def _time(self, ts_ms: int) -> datetime:
        """Epoch ms -> UTC datetime; records of one cycle share a timestamp, so the last one is cached."""
        last_ms, moment = self._last_time
        if ts_ms != last_ms:
            moment = datetime.fromtimestamp(ts_ms // 1000, tz=UTC).replace(microsecond=ts_ms % 1000 * 1000)
            self._last_time = (ts_ms, moment)
        return moment

    def _market(self, ts_ms: int) -> str:
        return self._time(ts_ms).isoformat()

    def record(self, record: DecisionRecord) -> None:
        # `timestamp` is wall-clock time (ms): one datetime object per millisecond, so the writer
        # formats it once; the event's market time is kept beside it.
        ms = time_ns() // 1_000_000 if self._wall_ms is None else self._wall_ms()
        last_ms, moment = self._last_wall
        if ms != last_ms:
            moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
            self._last_wall = (ms, moment)
        ts = record.ts
        last_ts, market = self._market_text  # the records of one cycle share their event time
        if ts != last_ts:
            market = self._market_iso(ts)
            self._market_text = (ts, market)
        self.writer.append(
            kind=record.kind,
            stage=record.stage or self.stage,
            status=record.status,
            artefacts=record.artefacts,
            metadata={**record.metadata, "ts_ms": ts, "market_time": market},
            tags=record.tags,
            timestamp=moment,
        )

    def _note_failures(self) -> None:
        new = self.writer.write_failures - self._failures_seen
        if new > 0 and self.stats is not None:
            self.stats.decision_log_write_failures += new
        self._failures_seen = self.writer.write_failures

    def audit_problem(self) -> str | None:
        """None while entries become durable; otherwise why trading must stay halted."""
        writer = self.writer
        if self.stats is not None:
            self.stats.decision_log_head_seq = writer.durable_seq
        if self._halt_reason is None and writer.failed is None:
            return None
        self._note_failures()
        if writer.failed is not None:
            if self._halt_reason is None:
                self._halt_reason = (
                    f"decision log {writer.path} cannot make entries durable ({writer.failed})"
                )
                print(f"error: {self._halt_reason}: trading halted until it can", file=sys.stderr)
            now = self._monotonic()
            if now < self._next_try:
                return self._halt_reason
            self._next_try = now + self._retry_seconds
            if not writer.recover():
                self._note_failures()
                return self._halt_reason
        return self._resume()

    def _resume(self) -> str | None:
        """Write the entry that resumes trading; resume only once it is durable."""
        reason = self._halt_reason
        try:
            self.writer.append(
                kind="decision_log",
                stage=self.stage,
                status="recovered",
                artefacts={"log": str(self.writer.path)},
                metadata={"problem": reason, "write_failures": self.writer.write_failures},
                tags=("decision_log", "audit"),
            )
            self.writer.flush()
        except LogWriteError:
            self._note_failures()
            return reason
        print(f"note: decision log {self.writer.path} recovered; trading may resume", file=sys.stderr)
        self._halt_reason = None
        if self.stats is not None:
            self.stats.decision_log_head_seq = self.writer.durable_seq
        return None

    def flush(self) -> None:
        if self.writer.failed is not None:
            self.audit_problem()
        self.writer.flush()

    def commit(self, *, force: bool = False) -> None:
        """No state store behind this sink: nothing to project."""

    def close(self) -> None:
        if self.writer.failed is not None:
            self._next_try = 0.0
            self.audit_problem()  # a last attempt to get the kept entries on disk
        self.writer.close()


class AuditGate:
    """The engine's order gate: refuses new orders (as the kill switch) while the decision log
    cannot make entries durable, otherwise asks the inner gate (the kill switch), if any."""

    def __init__(self, inner: OrderGate | None, sink: FileDecisionSink) -> None:
        self._inner = inner
        self._sink = sink

    def allows_new_order(self, strategy: str) -> DenialReason | None:
        if self._sink.audit_problem() is not None:
            return DenialReason.KILL_SWITCH
        return self._inner.allows_new_order(strategy) if self._inner is not None else None

    def on_disable(self) -> KillPolicy | None:
        return self._inner.on_disable() if self._inner is not None else None

    def override_malformed(self) -> bool:
        return self._inner.override_malformed() if self._inner is not None else False

    def __getattr__(self, name: str) -> Any:
        # on_disable, override, disabled_strategies ...: the kill switch's, when there is one.
        if self._inner is None:
            raise AttributeError(name)
        return getattr(self._inner, name)
