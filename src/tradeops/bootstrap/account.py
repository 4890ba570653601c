"""Runs and accounts: where a run keeps its state, and bringing a store level with its log on start.

Run kinds: `account` (an environment's paper or live account: its store and log, continued where
it stopped), `backtest` (`--data`, `--from/--to`, `demo`: a fresh store and log under
`var/runs/<run_id>/` unless `--state` names a store), `smoke` and `load-test` (in-memory state).

Recovery rules on start (docs/runbooks/system-of-record.md):
- store and log agree: continue;
- store behind the log: replay the tail into the store (one stderr line, one `state replayed` entry);
- store ahead of the log, a chain that does not verify up to the store's position, or a store from
  another log: refuse to trade (HALTED, reason state_log_mismatch).
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradeops.decision_log.chain import ChainBroken, ChainCursor, iter_chain, log_identity
from tradeops.decision_log.entry import GENESIS_KIND
from tradeops.domain.errors import Fatal
from tradeops.persistence.fence import EpochFence
from tradeops.persistence.journal import LogAppender, ProjectingSink
from tradeops.persistence.projection import Projection, ProjectionError
from tradeops.persistence.sql_store import LogPosition, SqlStateStore

RUNS_DIR = Path("var/runs")
RUN_KINDS = ("account", "backtest", "smoke", "load-test")
MISMATCH = "state_log_mismatch"


class StateLogMismatch(Fatal):
    """The store does not match its decision log: trading is refused until an operator decides."""


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: UTC time plus 6 random hex digits."""
    moment = now or datetime.now(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@dataclass(frozen=True, slots=True)
class RunPlan:
    """Where one run keeps its state: `store` is a SQLAlchemy URL, or None for in-memory state."""

    run_id: str
    kind: str
    store: str | None
    log_path: str
    directory: Path | None = None  # var/runs/<run_id>/ of a backtest


def run_kind(data: str | None, from_ms: int | None, to_ms: int | None, state: str) -> str:
    """`backtest` for any replay of files or of a window, else `account` (in-memory: `smoke`)."""
    if data is not None or from_ms is not None or to_ms is not None:
        return "backtest"
    return "smoke" if state in ("memory", "none") else "account"


def plan_run(
    *,
    kind: str,
    run_id: str,
    state: str,
    account_store: str,
    account_log: str,
    decision_log_path: str | None,
) -> RunPlan:
    """Resolve the store and log of a run (`state`: environment, memory, none or a SQLite path)."""
    if state in ("memory", "none"):  # never the account's log: its store would replay these entries
        log = decision_log_path or str(RUNS_DIR / run_id / "decisions.jsonl")
        return RunPlan(run_id, kind, None, log)
    if state != "environment":
        path = Path(state)
        log = decision_log_path or log_beside(path)
        return RunPlan(run_id, kind, f"sqlite:///{path}", log)
    if kind == "account":
        return RunPlan(run_id, kind, account_store, decision_log_path or account_log)
    directory = RUNS_DIR / run_id
    store = directory / "state.sqlite"
    return RunPlan(run_id, kind, f"sqlite:///{store}", decision_log_path or log_beside(store), directory)


def log_beside(store: Path) -> str:
    """The log of a store given by path: `<dir>/<stem>.decisions.jsonl`."""
    return str(store.with_name(store.stem + ".decisions.jsonl"))


@dataclass
class Reconciled:
    """A store brought level with its log, or the reason it cannot be."""

    projection: Projection
    position: LogPosition | None
    mismatch: str | None = None
    replayed: tuple[int, int] | None = None
    log_seq: int = 0


@dataclass
class WarmStart:
    """What a cluster follower read while following (bootstrap/cluster_warm.py): the store's
    position and projection as last read, and how far it verified the local log's chain. Used
    only where it still holds: the projection when the store is still at that position, the
    cursor when it is not past the store's position."""

    position: LogPosition | None
    projection: Projection | None
    cursors: tuple[ChainCursor, ...] = ()

    def cursor_for(self, position: LogPosition | None) -> ChainCursor | None:
        if position is None:
            return None
        return max((c for c in self.cursors if c.seq <= position.seq), key=lambda c: c.seq, default=None)


def _tail(
    path: Path, after: LogPosition | None, start: ChainCursor | None = None
) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """Entries after the store's position, checking the chain up to it and the hash at it
    (from `start` on when given: a follower verified the lines before it)."""
    if start is not None and after is not None and start.seq == after.seq and start.head != after.head:
        raise ChainBroken(
            f"{path}:{start.number}: the store recorded head {after.head}, the log has {start.head}"
        )
    for seq, head, entry in iter_chain(path, start):
        if after is not None and seq <= after.seq:
            if seq == after.seq and head != after.head:
                raise ChainBroken(
                    f"{path}:{seq}: the store recorded head {after.head} at seq {seq}, the log has {head}"
                )
            continue
        yield seq, head, entry


def project_log(path: str | Path, upto: int | None = None) -> tuple[Projection, LogPosition | None]:
    """Fold a log (up to seq `upto`) into a fresh projection: `state rebuild` and `state check`."""
    projection = Projection()
    position: LogPosition | None = None
    identity = log_identity(path)
    for seq, head, entry in iter_chain(path):
        if upto is not None and seq > upto:
            break
        projection.apply(seq, entry)
        position = LogPosition(identity or "", seq, head)
    return projection, position


def reconcile(
    store: SqlStateStore, log_path: str | Path, log_seq: int, warm: WarmStart | None = None
) -> Reconciled:
    """Compare the store's recorded position with the log; replay the tail when the store is behind."""
    path = Path(log_path)
    position = store.log_position()
    identity = log_identity(path)
    reused = warm is not None and warm.projection is not None and warm.position == position
    projection = warm.projection if reused and warm and warm.projection else store.load_projection()
    start = warm.cursor_for(position) if warm is not None else None
    if warm is not None:
        print(
            f"cluster: reconcile warm: store at seq {position.seq if position else 0}, projection "
            f"{'as read while following' if reused else 'read now'}, log chain walked from seq "
            f"{start.seq if start else 0} of {log_seq}",
            file=sys.stderr,
        )
    if position is None and not store.projected_is_empty():
        return Reconciled(projection, None, "the store holds state but no log position", log_seq=log_seq)
    if position is not None:
        if identity != position.log_id:
            return Reconciled(
                projection,
                position,
                f"the store was projected from log {position.log_id[:19]}..., {path} is "
                f"{(identity or 'empty')[:19]}... (another environment or another log)",
                log_seq=log_seq,
            )
        if position.seq > log_seq:
            return Reconciled(
                projection,
                position,
                f"the store is at log seq {position.seq}, {path} ends at seq {log_seq} "
                "(store ahead of the log)",
                log_seq=log_seq,
            )
    first = None if position is None else position.seq
    last: tuple[int, str] | None = None
    news = False  # a tail of nothing but the new log's genesis entry is not a replay worth reporting
    try:
        for seq, head, entry in _tail(path, position, start):
            projection.apply(seq, entry)
            last = (seq, head)
            news = news or entry.get("kind") != GENESIS_KIND
    except (ChainBroken, ProjectionError) as exc:
        return Reconciled(
            store.load_projection(), position, f"the log does not verify: {exc}", log_seq=log_seq
        )
    if last is None:
        return Reconciled(projection, position, log_seq=log_seq)
    changes, new_orders = projection.drain()
    new_position = LogPosition(identity or "", last[0], last[1])
    store.apply(changes, new_position, new_orders)
    projection.compact()
    replayed = ((first or 0) + 1, last[0]) if news else None
    return Reconciled(projection, new_position, replayed=replayed, log_seq=log_seq)


@dataclass
class Account:
    """A persistent run's state: the store, the projecting sink, and what start-up found."""

    plan: RunPlan
    store: SqlStateStore
    sink: ProjectingSink
    reconciled: Reconciled
    notes: list[str] = field(default_factory=list)

    @property
    def meta(self) -> dict[str, str]:
        return self.reconciled.projection.meta

    @property
    def mismatch(self) -> str | None:
        return self.reconciled.mismatch


def open_account(
    plan: RunPlan,
    open_writer: Callable[[Callable[[int], None]], Any],
    *,
    stage: str,
    step_ms: Callable[[], int],
    fence: EpochFence | None = None,
    durable_hook: Callable[[Callable[[int], None]], Callable[[int], None]] | None = None,
    warm: WarmStart | None = None,
) -> Account:
    """Open the store and the log (log first), reconcile them, and build the projecting sink.

    Cluster mode: `fence` guards every store write with the lease epoch; `durable_hook` puts the
    log mirror between the writer's group commit and the projection (durable once acknowledged)."""
    assert plan.store is not None
    if plan.store.startswith("sqlite:///"):
        Path(plan.store.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    store = SqlStateStore(plan.store)
    store.fence = fence
    holder: list[ProjectingSink] = []

    def on_durable(seq: int) -> None:
        if holder:
            holder[0].mark_durable(seq)

    try:
        writer: LogAppender = open_writer(on_durable if durable_hook is None else durable_hook(on_durable))
    except BaseException:
        store.close()
        raise
    reconciled = reconcile(store, plan.log_path, writer.seq, warm)
    sink = ProjectingSink(
        writer,
        store,
        reconciled.projection,
        log_id=lambda: log_identity(plan.log_path) or "",
        stage=stage,
        step_ms=step_ms,
        position=reconciled.position,
    )
    sink.mark_durable(writer.durable_seq)
    holder.append(sink)
    account = Account(plan, store, sink, reconciled)
    if reconciled.mismatch is not None:
        sink.failure = MISMATCH  # append to the log, never project into this store
    if reconciled.replayed is not None:
        first, last = reconciled.replayed
        line = f"state: the store was behind {plan.log_path}; replayed log seq {first}..{last} into it"
        print(line, file=sys.stderr)
        account.notes.append(line)
    return account


def mismatch_message(environment: str, detail: str) -> str:
    return (
        f"trading HALTED ({MISMATCH}): {detail}; inspect with "
        f"`tradeops state check --environment {environment}`"
    )
