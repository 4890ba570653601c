"""ProjectingSink.commit: when a batch of durable entries is projected, and that the store never
runs ahead of the durable log (a fake writer whose durable seq the test moves; a real SQLite store)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.statekit import fill_of, order
from tradeops.domain import events
from tradeops.persistence.journal import ProjectingSink
from tradeops.persistence.projection import Projection
from tradeops.persistence.sql_store import SqlStateStore, sqlite_url


class Writer:
    """Appends in memory; `durable_seq` moves only when the test says (or on flush)."""

    def __init__(self) -> None:
        self.seq = 0
        self.durable_seq = 0
        self.head = "sha256:0"
        self.on_durable: Callable[[int], None] = lambda seq: None

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
    ) -> dict[str, Any]:
        self.seq += 1
        self.head = f"sha256:{self.seq}"
        return {"seq": self.seq, "kind": kind, "status": status, "artefacts": dict(artefacts),
                "metadata": dict(metadata or {})}  # fmt: skip

    def flush(self) -> None:
        self.durable_seq = self.seq
        self.on_durable(self.seq)  # the group commit's callback, as the real writer calls it

    def close(self) -> None:
        pass


class Rig:
    def __init__(self, tmp_path: Path) -> None:
        self.now = 100.0
        self.step = 1_000
        self.writer = Writer()
        self.store = SqlStateStore(sqlite_url(tmp_path / "state.sqlite"))
        self.sink = ProjectingSink(
            self.writer, self.store, Projection(), log_id=lambda: "log-1", stage="paper",
            step_ms=lambda: self.step, monotonic=lambda: self.now, wall_ms=lambda: 0,
            commit_interval_s=0.25,
        )  # fmt: skip
        self.writer.on_durable = self.sink.mark_durable

    def durable(self) -> None:
        self.writer.durable_seq = self.writer.seq
        self.sink.mark_durable(self.writer.seq)

    def stored_seq(self) -> int | None:
        position = self.store.log_position()
        return None if position is None else position.seq

    def buy(self, n: int) -> None:
        request = order(f"daily_trend-1000-{n}")
        self.sink.record(events.order_accepted(request))
        self.sink.record(events.order_submitted(request, f"paper-binance-{n}"))
        self.sink.record(events.order_filled(fill_of(request, f"paper-binance-{n}")))


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    made = Rig(tmp_path)
    yield made
    made.store.close()


def test_nothing_durable_is_a_no_op_and_keeps_the_commit_slot(rig: Rig) -> None:
    rig.sink.record(events.balances_set(0, {"USDT": "1000"}, "opening balance"))
    rig.sink.commit()  # its group commit has not happened yet
    assert rig.stored_seq() is None and rig.sink.commits == 0
    rig.durable()
    rig.step += 1
    rig.now += 0.001  # the next step: the slot was not used up by the no-op
    rig.sink.commit()
    assert rig.stored_seq() == 1 and rig.sink.commits == 1


def test_at_replay_speed_steps_share_one_transaction_and_the_store_never_leads(rig: Rig) -> None:
    rig.sink.record(events.balances_set(0, {"USDT": "100000"}, "opening balance"))
    rig.durable()
    rig.sink.commit()
    assert rig.stored_seq() == 1
    for n in range(1, 6):  # five steps, 1 ms apart, each durable before its commit call
        rig.step += 1
        rig.now += 0.001
        rig.buy(n)
        rig.durable()
        rig.sink.commit()
    assert rig.sink.commits == 1 and rig.stored_seq() == 1  # within the interval: not yet
    rig.step += 1
    rig.buy(6)
    durable = rig.writer.seq - 1  # the last fill is not on disk yet
    rig.writer.durable_seq = durable
    rig.sink.mark_durable(durable)
    rig.now += 0.25
    rig.sink.commit()
    assert rig.sink.commits == 2 and rig.stored_seq() == durable  # up to the durable seq, no further
    rows = rig.store.table_rows("orders")
    assert len(rows) == 6 and rows[-1]["status"] == "open"  # the 6th order's fill is not durable
    assert len(rig.store.table_rows("fills")) == 5
    rig.sink.flush()
    assert rig.stored_seq() == rig.writer.seq and len(rig.store.table_rows("fills")) == 6


def test_a_forced_commit_projects_what_is_durable_at_once(rig: Rig) -> None:
    rig.sink.record(events.balances_set(0, {"USDT": "100000"}, "opening balance"))
    rig.durable()
    rig.sink.commit()
    rig.step += 60_000
    rig.now += 0.001
    rig.buy(1)
    rig.sink.commit(force=True)  # end of the step: its group commit is still pending
    assert rig.sink.commits == 1
    rig.durable()
    rig.now += 0.02
    rig.sink.commit()  # within the interval: a plain commit waits
    assert rig.sink.commits == 1
    rig.sink.commit(force=True)  # the real-time scheduler, waiting for its next tick
    assert rig.sink.commits == 2 and rig.stored_seq() == rig.writer.seq
