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

    def record(self, record: DecisionRecord) -> None:
        self.writer.append(
            kind=record.kind,
            stage=record.stage or self.stage,
            status=record.status,
            artefacts=record.artefacts,
            metadata=record.metadata,
            tags=record.tags,
            timestamp=datetime.fromtimestamp(record.ts / 1000, tz=UTC),
        )

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
