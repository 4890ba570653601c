"""The state store on SQLAlchemy Core: SQLite by default, PostgreSQL with the same code.

The store is a projection of the decision log (see persistence/projection.py): the runtime never
writes a projected row directly; `apply` writes one log batch's changes and the log position they
reflect in one transaction, with statements built once per table and run with executemany.
Because the log is durable first, SQLite runs WAL with ``synchronous=NORMAL``: a power cut can only
leave the store *behind* the log, and the next start replays the tail. Readers in other processes
(the CLI, the control API) never block the writer. The schema comes from Alembic migrations.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, Table, create_engine, event, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.pool import StaticPool

from tradeops.config.models import EnvironmentConfig
from tradeops.domain.errors import Fatal, UserInputError
from tradeops.domain.trading import Fill, Liquidity, Position, Side, StrategyStatus, TradingState
from tradeops.persistence.batch_sql import BatchSql
from tradeops.persistence.fence import EpochFence, StaleEpoch
from tradeops.persistence.projection import FEES_PREFIX, OPEN_STATUSES, OrderRow, Projection
from tradeops.persistence.schema import (
    PROJECTED_TABLES,
    SCHEMA_REVISION,
    MoneyRoundTripError,
    build_metadata,
)

SQLITE_BUSY_TIMEOUT_MS = 5_000
CRASH_POINT_ENV = "TRADEOPS_CRASH_POINT"  # test harness only: "projection:N" kills -9 inside commit N
_KEYS = {
    "balances": ("asset",),
    "positions": ("strategy", "venue", "symbol"),
    "orders": ("client_order_id",),
    "trading_state": ("scope",),
    "replay_cursor": ("series",),
    "projection_meta": ("key",),
    "log_position": ("id",),
    "strategy_status": ("strategy",),
    "kv": ("key",),
}


class StateConflict(Fatal):
    """A write would break a unique id or the store disagrees with the log: stop, never overwrite."""


class StoreUnwritable(Fatal):
    """The store cannot be written (disk full, read-only): trading stops; the log stays the record."""


class SchemaOutdated(UserInputError):
    """The store's schema is older than the code (or predates migrations)."""


@dataclass(frozen=True, slots=True)
class LogPosition:
    """The log position a store reflects: the log's identity, the last applied seq and its hash."""

    log_id: str
    seq: int
    head: str


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _make_engine(url: str, schema: str | None) -> Engine:
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        if memory:
            kwargs["poolclass"] = StaticPool  # one shared in-memory database
        else:
            kwargs["connect_args"]["timeout"] = SQLITE_BUSY_TIMEOUT_MS / 1000
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, pool_pre_ping=True)
    if schema is not None:

        def _search_path(dbapi_connection: Any, _record: Any) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f'SET search_path TO "{schema}"')
            dbapi_connection.commit()

        event.listen(engine, "connect", _search_path)
    return engine


def _crash_countdown() -> list[int]:
    point = os.environ.get(CRASH_POINT_ENV, "")
    name, _, count = point.partition(":")
    return [int(count)] if name == "projection" and count.isdigit() else []


class SqlStateStore:
    """Durable runtime state. Thread-safe; every method is one short transaction."""

    def __init__(self, url: str, *, schema: str | None = None, require_current: bool = True) -> None:
        self.url = url
        self._engine = _make_engine(url, schema)
        self._lock = threading.RLock()
        self._metadata: MetaData = build_metadata()
        self._t: dict[str, Table] = dict(self._metadata.tables)
        self._dialect = self._engine.dialect.name
        self._crash = _crash_countdown()
        try:
            with self._lock:
                self._check_schema(require_current)
        except BaseException:
            self._engine.dispose()  # a refused store must not leave its pooled connection open
            raise
        self._upserts = {name: self._upsert_statement(name) for name in ("strategy_status", "kv")}
        self._batch = BatchSql(self._t, _KEYS, self._dialect)
        dbapi = self._engine.dialect.loaded_dbapi  # the batch runs on the driver's cursor: its errors
        self._driver_errors: tuple[type[Exception], type[Exception]] = (dbapi.IntegrityError, dbapi.Error)

    # --- schema ----------------------------------------------------------------------------------

    def schema_revision(self) -> str | None:
        """The store's Alembic revision (None: no tables at all, or tables without migrations)."""
        with self._engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
            if "alembic_version" not in names:
                return None
            return conn.execute(select(self._alembic_table().c.version_num)).scalar_one_or_none()

    def _alembic_table(self) -> Table:
        from sqlalchemy import Column, String

        return Table("alembic_version", MetaData(), Column("version_num", String(32)))

    def _is_empty(self) -> bool:
        with self._engine.connect() as conn:
            return not inspect(conn).get_table_names()

    def _check_schema(self, require_current: bool) -> None:
        revision = self.schema_revision()
        if revision == SCHEMA_REVISION:
            return
        if revision is None and self._is_empty():
            self.upgrade()  # a new store: create it at the current revision
            return
        if revision is None:
            raise SchemaOutdated(
                f"state store {self._where()}: its tables predate migrations; rebuild it from the log: "
                "`tradeops state rebuild --force`"
            )
        if require_current:
            raise SchemaOutdated(
                f"state store {self._where()}: schema {revision} is older than this code "
                f"({SCHEMA_REVISION}); upgrade it: `tradeops state migrate`"
            )

    def _where(self) -> str:
        return self.url.removeprefix("sqlite:///")

    def upgrade(self) -> str:
        """Run the Alembic migrations up to the code's revision; return the revision."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
        with self._lock, self._engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        return SCHEMA_REVISION

    # --- the projection --------------------------------------------------------------------------

    def _upsert_statement(self, name: str) -> Any:
        table = self._t[name]
        keys = _KEYS[name]
        builder: Callable[..., Any] = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        stmt = builder(table)
        changed = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
        return stmt.on_conflict_do_update(index_elements=list(keys), set_=changed)

    def apply(
        self,
        changes: Mapping[str, list[dict[str, Any]]],
        position: LogPosition,
        new_orders: set[str],
        *,
        replace: bool = False,
    ) -> None:
        """Write one batch of projected rows and the log position they reflect (one transaction).

        New orders and every fill are inserted (a duplicate id is a StateConflict, never an
        overwrite); other rows are upserted by primary key.
        """
        integrity, driver_error = self._driver_errors
        try:
            with self._lock, self._engine.begin() as conn:
                self._write(conn, changes, position, new_orders, replace=replace)
        except StaleEpoch:
            if self.fence is not None:
                self.fence.count_refusal(self._engine)
            raise
        except IntegrityError as exc:
            raise self._repeat(exc.orig) from None
        except integrity as exc:
            raise self._repeat(exc) from None
        except DBAPIError as exc:
            raise StoreUnwritable(f"state store {self._where()}: cannot write ({exc.orig})") from exc
        except driver_error as exc:
            raise StoreUnwritable(f"state store {self._where()}: cannot write ({exc})") from exc
        except StatementError as exc:
            raise StateConflict(f"state store {self._where()}: {exc.orig}") from None
        except MoneyRoundTripError as exc:  # a money value that would not read back exactly
            raise StateConflict(f"state store {self._where()}: {exc}") from None

    def _repeat(self, error: object) -> StateConflict:
        return StateConflict(
            f"state store {self._where()}: a unique id would repeat ({error}); nothing was "
            "overwritten; run `tradeops state check`"
        )

    def _write(
        self,
        conn: Connection,
        changes: Mapping[str, list[dict[str, Any]]],
        position: LogPosition,
        new_orders: set[str],
        *,
        replace: bool,
    ) -> None:
        if self.fence is not None:
            self.fence.check(conn)  # cluster mode: a deposed leader's write is refused here
        if replace:
            self._clear(conn)
        # The batch goes straight to the driver's cursor, inside `conn`'s transaction: SQLAlchemy's
        # per-statement execution context cost more than the few executemany calls themselves.
        cursor = conn.connection.cursor()
        try:
            batch = self._batch
            for table, rows in changes.items():
                if not rows:
                    continue
                if table == "orders":
                    fresh = [r for r in rows if r["client_order_id"] in new_orders]
                    known = [r for r in rows if r["client_order_id"] not in new_orders] if fresh else rows
                    for statement, part in ((batch.inserts["orders"], fresh), (batch.order_update, known)):
                        if part:
                            cursor.executemany(statement.sql, statement.params(part))
                    continue
                statement = batch.inserts["fills"] if table == "fills" else batch.upserts[table]
                cursor.executemany(statement.sql, statement.params(rows))
            at = batch.upserts["log_position"]
            row = {"id": 1, "log_id": position.log_id, "seq": position.seq, "head": position.head}
            cursor.execute(at.sql, at.params([row])[0])
        finally:
            cursor.close()
        if self._crash and self._tick_crash():
            os.kill(os.getpid(), signal.SIGKILL)  # harness: die inside the transaction

    def _tick_crash(self) -> bool:
        self._crash[0] -= 1
        return self._crash[0] == 0

    fence: EpochFence | None = None  # cluster mode: the lease epoch every write must still hold

    @property
    def engine(self) -> Engine:
        return self._engine

    def log_position(self) -> LogPosition | None:
        t = self._t["log_position"]
        with self._lock, self._engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id == 1)).first()
        return None if row is None else LogPosition(row.log_id, int(row.seq), row.head)

    def table_rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of a projected table, ordered by primary key (state check, tests)."""
        t = self._t[table]
        keys = [t.c[k] for k in (("log_seq",) if table == "fills" else _KEYS[table])]
        with self._lock, self._engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(t).order_by(*keys))]

    def load_projection(self) -> Projection:
        """The projected state to continue folding from: balances, positions, open orders, meta."""
        projection = Projection()
        projection.balances = self.load_balances()
        projection.positions = {(p.strategy, p.venue, p.symbol): p for p in self.load_positions()}
        for row in self.table_rows("orders"):
            if row["status"] in OPEN_STATUSES:
                order = OrderRow(**row)
                order.fills = self._fill_count(order.client_order_id)
                projection.orders[order.client_order_id] = order
        projection.trading = {
            r["scope"]: (r["state"], r["reason"], int(r["ts_ms"])) for r in self.table_rows("trading_state")
        }
        projection.cursor = {r["series"]: int(r["last_bar_ts"]) for r in self.table_rows("replay_cursor")}
        projection.meta = {r["key"]: r["value"] for r in self.table_rows("projection_meta")}
        projection.quote_asset = next(iter(sorted(projection.balances)), None)
        return projection

    def _fill_count(self, client_order_id: str) -> int:
        from sqlalchemy import func

        t = self._t["fills"]
        with self._engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).where(t.c.client_order_id == client_order_id)).scalar_one()
            )

    def projected_is_empty(self) -> bool:
        return all(not self.table_rows(name) for name in PROJECTED_TABLES) and self.log_position() is None

    def replace_projection(self, projection: Projection, position: LogPosition) -> None:
        """Replace every projected row with `projection` and its position, in one transaction
        (state rebuild; operator state is kept)."""
        changes = {name: projection.rows(name) for name in PROJECTED_TABLES}
        self.apply(changes, position, set(projection.orders), replace=True)

    def clear_projection(self) -> None:
        with self._lock, self._engine.begin() as conn:
            self._clear(conn)

    def _clear(self, conn: Connection) -> None:
        for name in (*PROJECTED_TABLES, "log_position"):
            conn.execute(self._t[name].delete())

    # --- reads of projected state ----------------------------------------------------------------

    def load_positions(self) -> list[Position]:
        return [
            Position(
                r["strategy"],
                r["venue"],
                r["symbol"],
                r["quantity"],
                r["avg_price"],
                r["realized_pnl"],
                int(r["opened_ts"]),
            )
            for r in self.table_rows("positions")
        ]

    def load_balances(self) -> dict[str, Decimal]:
        return {r["asset"]: r["amount"] for r in self.table_rows("balances")}

    def load_fills(self, strategy: str | None = None) -> list[Fill]:
        return [
            Fill(
                r["order_id"],
                r["client_order_id"],
                r["strategy"],
                r["venue"],
                r["symbol"],
                Side(r["side"]),
                r["quantity"],
                r["price"],
                r["fee"],
                r["fee_asset"],
                Liquidity(r["liquidity"]),
                int(r["ts"]),
            )
            for r in self.table_rows("fills")
            if strategy is None or r["strategy"] == strategy
        ]

    def fees_by_strategy(self) -> dict[str, Decimal]:
        """Fees paid per strategy over the account's life (quote asset)."""
        meta = self.meta()
        return {k.removeprefix(FEES_PREFIX): Decimal(v) for k, v in meta.items() if k.startswith(FEES_PREFIX)}

    def load_open_orders(self) -> list[dict[str, Any]]:
        """Acknowledged orders still working at the venue (the paper venue's persisted book)."""
        return [r for r in self.table_rows("orders") if r["status"] == "open"]

    def meta(self) -> dict[str, str]:
        return {r["key"]: r["value"] for r in self.table_rows("projection_meta")}

    def trading_states(self) -> dict[str, TradingState]:
        return {r["scope"]: TradingState(r["state"]) for r in self.table_rows("trading_state")}

    def trading_state_details(self) -> dict[str, tuple[TradingState, str, int]]:
        """scope -> (state, reason, ts_ms)."""
        return {
            r["scope"]: (TradingState(r["state"]), r["reason"], int(r["ts_ms"]))
            for r in self.table_rows("trading_state")
        }

    # --- operator state (not projected: each change has its own signed operations-log entry) -----

    def strategy_statuses(self) -> dict[str, StrategyStatus]:
        return {
            r["strategy"]: StrategyStatus(
                r["strategy"],
                bool(r["disabled"]),
                r["reason"],
                r["ticket"],
                r["requested_by"],
                None if r["until_ms"] is None else int(r["until_ms"]),
                int(r["changed_ms"]),
            )
            for r in self.table_rows("strategy_status")
        }

    def set_strategy_status(self, status: StrategyStatus) -> None:
        values = {
            "strategy": status.strategy,
            "disabled": status.disabled,
            "reason": status.reason,
            "ticket": status.ticket,
            "requested_by": status.requested_by,
            "until_ms": status.until_ms,
            "changed_ms": status.changed_ms,
        }
        with self._lock, self._engine.begin() as conn:
            conn.execute(self._upserts["strategy_status"], [values])

    def kv_get(self, key: str) -> str | None:
        t = self._t["kv"]
        with self._lock, self._engine.connect() as conn:
            return conn.execute(select(t.c.value).where(t.c.key == key)).scalar_one_or_none()

    def kv_set(self, key: str, value: str) -> None:
        """Cluster mode: fenced like every state write (a deposed leader's heartbeat is refused)."""
        try:
            with self._lock, self._engine.begin() as conn:
                if self.fence is not None:
                    self.fence.check(conn)
                conn.execute(self._upserts["kv"], [{"key": key, "value": value}])
        except StaleEpoch:
            if self.fence is not None:
                self.fence.count_refusal(self._engine)
            raise

    def kv_swap(self, key: str, expected: str | None, value: str) -> bool:
        """Set `key` to `value` only if it currently holds `expected` (None: absent). Atomic across
        processes: exactly one of several concurrent callers with the same `expected` wins."""
        t = self._t["kv"]
        with self._lock, self._engine.begin() as conn:
            if expected is None:
                builder: Callable[..., Any] = (
                    postgresql.insert if self._dialect == "postgresql" else sqlite.insert
                )
                stmt = builder(t).values(key=key, value=value).on_conflict_do_nothing().returning(t.c.key)
                return conn.execute(stmt).first() is not None
            stmt2 = update(t).where(t.c.key == key, t.c.value == expected).values(value=value)
            return conn.execute(stmt2).rowcount == 1

    def close(self) -> None:
        self._engine.dispose()


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path)}"


def open_state_store(env_cfg: EnvironmentConfig) -> SqlStateStore:
    """The environment's store: PostgreSQL when `state_url` is set, else SQLite at `state_path`."""
    if env_cfg.state_url:
        return SqlStateStore(env_cfg.state_url)
    path = Path(env_cfg.state_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqlStateStore(sqlite_url(path))
