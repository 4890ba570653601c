"""The runtime's DecisionSink port backed by a DecisionLogWriter (one entry per DecisionRecord)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from tradeops.decision_log.writer import DecisionLogWriter
from tradeops.domain.events import DecisionRecord


class FileDecisionSink:
    """Cheap per call: the writer only buffers; fsync happens in its group-commit thread."""

    def __init__(
        self,
        writer: DecisionLogWriter,
        stage: str,
        wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self.writer = writer
        self._wall_ms = wall_ms
        self.stage = stage
        self._last_time: tuple[int, datetime] = (0, datetime.fromtimestamp(0, tz=UTC))

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
        self.writer.append(
            kind=record.kind,
            stage=record.stage or self.stage,
            status=record.status,
            artefacts=record.artefacts,
            # `timestamp` is wall-clock time; the event's market time is kept beside it.
            metadata={
                **record.metadata,
                "ts_ms": record.ts,
                "market_time": self._time(record.ts).isoformat(),
            },
            tags=record.tags,
            timestamp=datetime.fromtimestamp(self._wall_ms() / 1000, tz=UTC),
        )

    def flush(self) -> None:
        self.writer.flush()

    def commit(self) -> None:
        """No state store behind this sink: nothing to project."""

    def close(self) -> None:
        self.writer.close()
