"""First-class fakes for tests, benchmarks and drills (no mocks needed)."""

from __future__ import annotations

from tradeops.domain.events import DecisionRecord, DenialReason
from tradeops.runtime.ports import KillPolicy


class RecordingSink:
    """A DecisionSink that keeps records in memory."""

    def __init__(self) -> None:
        self.records: list[DecisionRecord] = []
        self.flushes = 0
        self.forced_commits = 0

    def record(self, record: DecisionRecord) -> None:
        self.records.append(record)

    def flush(self) -> None:
        self.flushes += 1

    def commit(self, *, force: bool = False) -> None:
        self.forced_commits += force

    def close(self) -> None:
        self.flush()

    def of_kind(self, kind: str, status: str | None = None) -> list[DecisionRecord]:
        return [r for r in self.records if r.kind == kind and (status is None or r.status == status)]


class NullSink:
    """A DecisionSink that drops everything (benchmarks of the engine alone)."""

    def record(self, record: DecisionRecord) -> None:
        pass

    def flush(self) -> None:
        pass

    def commit(self, *, force: bool = False) -> None:
        pass

    def close(self) -> None:
        pass


class StaticGate:
    """An OrderGate with fixed answers: `killed` for everyone, or a set of disabled strategies."""

    def __init__(self, killed: bool = False, disabled: frozenset[str] = frozenset()) -> None:
        self.killed = killed
        self.disabled = set(disabled)

    def allows_new_order(self, strategy: str) -> DenialReason | None:
        if self.killed:
            return DenialReason.KILL_SWITCH
        if strategy in self.disabled:
            return DenialReason.STRATEGY_DISABLED
        return None

    def on_disable(self) -> KillPolicy | None:
        return None  # the configured policy

    def override_malformed(self) -> bool:
        return False
