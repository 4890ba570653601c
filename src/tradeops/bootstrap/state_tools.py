"""`tradeops state check | rebuild | migrate`: the store compared with, and rebuilt from, its log."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradeops.bootstrap.account import log_beside, project_log
from tradeops.config.load import environment_of, load_config
from tradeops.decision_log.chain import ChainBroken, iter_chain, log_identity
from tradeops.decision_log.lockfile import LogLock
from tradeops.domain.errors import AlreadyExists, UserInputError
from tradeops.persistence.projection import Projection, ProjectionError
from tradeops.persistence.schema import PROJECTED_TABLES, SCHEMA_REVISION
from tradeops.persistence.sql_store import LogPosition, SchemaOutdated, SqlStateStore, sqlite_url

MAX_LISTED = 20
_KEY_COLUMNS = {
    "balances": ("asset",),
    "positions": ("strategy", "venue", "symbol"),
    "orders": ("client_order_id",),
    "fills": ("log_seq",),
    "trading_state": ("scope",),
    "replay_cursor": ("series",),
    "projection_meta": ("key",),
}


@dataclass(frozen=True, slots=True)
class Target:
    """A store and its log, named for messages."""

    store_url: str
    log_path: Path

    @property
    def store_name(self) -> str:
        return self.store_url.removeprefix("sqlite:///")


def resolve_target(config_path: str | Path, environment: str, state: str | None, log: str | None) -> Target:
    """The environment's store and log, or `--state PATH` (its log beside it) / `--log PATH`."""
    if state is not None:
        path = Path(state)
        return Target(sqlite_url(path), Path(log or log_beside(path)))
    cfg = load_config(config_path)
    env = environment_of(cfg, environment, config_path)
    return Target(
        env.state_url or sqlite_url(env.state_path), Path(log or cfg.decision_log_path(environment))
    )


@dataclass
class CheckReport:
    store: str
    log: str
    position: dict[str, Any] | None
    log_seq: int = 0
    differences: list[str] = field(default_factory=list)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "store": self.store,
            "log": self.log,
            "position": self.position,
            "log_seq": self.log_seq,
            "pending_entries": max(0, self.log_seq - (self.position or {}).get("seq", 0)),
            "differences": self.differences,
            "tables": self.tables,
        }


def _open_existing(target: Target) -> SqlStateStore:
    if target.store_url.startswith("sqlite:///") and not Path(target.store_name).exists():
        raise UserInputError(f"state store {target.store_name}: file not found (--state or --environment)")
    return SqlStateStore(target.store_url)


def _key(table: str, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[c] for c in _KEY_COLUMNS[table])


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    sums: dict[str, Decimal] = {}
    for row in rows:
        for name, value in row.items():
            if isinstance(value, Decimal):
                sums[name] = sums.get(name, Decimal(0)) + value
    return {"rows": len(rows), "sums": {k: str(v) for k, v in sorted(sums.items())}}


def compare(store: SqlStateStore, expected: Projection, report: CheckReport) -> None:
    """Name every row that differs between the store and the projection (missing, extra, changed)."""
    for table in PROJECTED_TABLES:
        actual_rows = store.table_rows(table)
        expected_rows = expected.rows(table)
        report.tables[table] = {"store": _summary(actual_rows), "log": _summary(expected_rows)}
        actual = {_key(table, r): r for r in actual_rows}
        wanted = {_key(table, r): r for r in expected_rows}
        for key in sorted(wanted.keys() - actual.keys(), key=str):
            report.differences.append(
                f"{table} {'/'.join(map(str, key))}: in the log, missing from the store"
            )
        for key in sorted(actual.keys() - wanted.keys(), key=str):
            report.differences.append(f"{table} {'/'.join(map(str, key))}: in the store, not in the log")
        for key in sorted(actual.keys() & wanted.keys(), key=str):
            changed = [c for c in wanted[key] if actual[key].get(c) != wanted[key][c]]
            if changed:
                detail = ", ".join(f"{c} store={actual[key].get(c)} log={wanted[key][c]}" for c in changed)
                report.differences.append(f"{table} {'/'.join(map(str, key))}: {detail}")


def check_state(target: Target) -> CheckReport:
    """Exit 0 only when the store equals the projection of its log up to its recorded position."""
    store = _open_existing(target)
    try:
        position = store.log_position()
        report = CheckReport(
            target.store_name,
            str(target.log_path),
            None
            if position is None
            else {"log_id": position.log_id, "seq": position.seq, "head": position.head},
        )
        try:
            report.log_seq = max((seq for seq, _, _ in iter_chain(target.log_path)), default=0)
            expected, found = project_log(target.log_path, None if position is None else position.seq)
        except (ChainBroken, ProjectionError) as exc:
            report.differences.append(f"log {target.log_path}: {exc}")
            return report
        if position is None:
            expected = Projection()
        elif log_identity(target.log_path) != position.log_id:
            report.differences.append(
                f"log identity: the store was projected from {position.log_id}, {target.log_path} is "
                f"{log_identity(target.log_path)}"
            )
            return report
        elif found is None or found.seq < position.seq:
            report.differences.append(
                f"log position: the store is at seq {position.seq}, the log ends at seq {report.log_seq}"
            )
            return report
        elif found.head != position.head:
            report.differences.append(
                f"log head at seq {position.seq}: store {position.head}, log {found.head}"
            )
        compare(store, expected, report)
        return report
    finally:
        store.close()


def rebuild_state(target: Target, to: str | None, *, force: bool) -> tuple[str, LogPosition | None]:
    """Build a store from the log alone. Refuses an existing target without `force`. The log's
    lock is held meanwhile, so no scheduler appends to it during the rebuild."""
    url = sqlite_url(to) if to is not None else target.store_url
    name = url.removeprefix("sqlite:///")
    if not target.log_path.exists():
        raise UserInputError(f"decision log {target.log_path}: file not found (--log)")
    lock = LogLock(target.log_path, 0.0)
    try:
        projection, position = project_log(target.log_path)
        if url.startswith("sqlite:///"):
            path = Path(name)
            if path.exists() and not force:
                raise AlreadyExists(f"{name}: exists; add --force to replace its projected state")
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            store = SqlStateStore(url)
        except SchemaOutdated:
            if not (force and url.startswith("sqlite:///")):
                raise
            _set_aside(Path(name))  # a store from before migrations: keep it, start a new file
            store = SqlStateStore(url)
        try:
            if not force and not store.projected_is_empty():
                raise AlreadyExists(f"{name}: holds state; add --force to replace its projected state")
            if position is not None:
                store.replace_projection(projection, position)
            else:
                store.clear_projection()
        finally:
            store.close()
    finally:
        lock.release()
    return name, position


def _set_aside(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        old = Path(f"{path}{suffix}")
        if old.exists():
            old.replace(f"{path}.pre-migrations{suffix}")


def migrate_state(target: Target) -> tuple[str | None, str]:
    """Upgrade the store's schema to the code's revision: (revision before, revision now)."""
    store = SqlStateStore(target.store_url, require_current=False)
    try:
        before = store.schema_revision()
        if before != SCHEMA_REVISION:
            store.upgrade()
        return before, SCHEMA_REVISION
    finally:
        store.close()
