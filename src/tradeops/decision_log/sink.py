"""The runtime's DecisionSink port backed by a DecisionLogWriter (one entry per DecisionRecord)."""

from __future__ import annotations

from datetime import UTC, datetime

from tradeops.decision_log.writer import DecisionLogWriter
from tradeops.domain.events import DecisionRecord


class FileDecisionSink:
    """Cheap per call: the writer only buffers; fsync happens in its group-commit thread."""

    def __init__(self, writer: DecisionLogWriter, stage: str) -> None:
        self.writer = writer
        self.stage = stage
        self._last_time: tuple[int, datetime] = (0, datetime.fromtimestamp(0, tz=UTC))

    def _time(self, ts_ms: int) -> datetime:
        """Epoch ms -> UTC datetime; records of one cycle share a timestamp, so the last one is cached."""
        last_ms, moment = self._last_time
        if ts_ms != last_ms:
            moment = datetime.fromtimestamp(ts_ms // 1000, tz=UTC).replace(microsecond=ts_ms % 1000 * 1000)
            self._last_time = (ts_ms, moment)
        return moment

    def record(self, record: DecisionRecord) -> None:
        self.writer.append(
            kind=record.kind,
            stage=record.stage or self.stage,
            status=record.status,
            artefacts=record.artefacts,
            metadata=record.metadata,
            tags=record.tags,
            timestamp=self._time(record.ts),
        )

    def flush(self) -> None:
        self.writer.flush()

    def commit(self) -> None:
        """No state store behind this sink: nothing to project."""

    def close(self) -> None:
        self.writer.close()
