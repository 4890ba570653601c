"""The StateStore port on SQLAlchemy Core: SQLite by default, PostgreSQL with the same code.

Decimals are stored as text (exact on both engines). SQLite runs in WAL mode with
``synchronous=FULL``: every commit is fsynced to the WAL, so an acknowledged fill survives a power
cut (NORMAL could lose the last commits). Readers in other processes (the CLI, the control API)
never block the writer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from tradeops.config.models import EnvironmentConfig
from tradeops.domain.money import decimal_str
from tradeops.domain.trading import Fill, Liquidity, Position, Side, TradingState
from tradeops.runtime.ports import StrategyStatus

SQLITE_BUSY_TIMEOUT_MS = 5_000


def _tables(metadata: MetaData) -> dict[str, Table]:
    money = String(64)
    return {
        "balances": Table(
            "balances",
            metadata,
            Column("asset", String(32), primary_key=True),
            Column("amount", money, nullable=False),
        ),
        "positions": Table(
            "positions",
            metadata,
            Column("strategy", String(64), primary_key=True),
            Column("venue", String(64), primary_key=True),
            Column("symbol", String(64), primary_key=True),
            Column("quantity", money, nullable=False),
            Column("avg_price", money, nullable=False),
            Column("realized_pnl", money, nullable=False),
            Column("opened_ts", BigInteger, nullable=False),
        ),
        "fills": Table(
            "fills",
            metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("order_id", String(128), nullable=False),
            Column("client_order_id", String(128), nullable=False),
            Column("strategy", String(64), nullable=False),
            Column("venue", String(64), nullable=False),
            Column("symbol", String(64), nullable=False),
            Column("side", String(8), nullable=False),
            Column("quantity", money, nullable=False),
            Column("price", money, nullable=False),
            Column("fee", money, nullable=False),
            Column("fee_asset", String(32), nullable=False),
            Column("liquidity", String(8), nullable=False),
            Column("ts", BigInteger, nullable=False),
        ),
        "strategy_status": Table(
            "strategy_status",
            metadata,
            Column("strategy", String(64), primary_key=True),
            Column("disabled", Boolean, nullable=False),
            Column("reason", Text, nullable=False),
            Column("ticket", String(128), nullable=False),
            Column("requested_by", String(128), nullable=False),
            Column("until_ms", BigInteger, nullable=True),
            Column("changed_ms", BigInteger, nullable=False),
        ),
        "trading_state": Table(
            "trading_state",
            metadata,
            Column("scope", String(64), primary_key=True),
            Column("state", String(16), nullable=False),
            Column("reason", Text, nullable=False),
            Column("ts_ms", BigInteger, nullable=False),
        ),
        "kv": Table(
            "kv",
            metadata,
            Column("key", String(128), primary_key=True),
            Column("value", Text, nullable=False),
        ),
    }


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
    finally:
        cursor.close()


def _make_engine(url: str) -> Engine:
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
    return create_engine(url, pool_pre_ping=True)


class SqlStateStore:
    """Durable runtime state. Thread-safe; every method is one short transaction."""

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        self.url = url
        self._engine = _make_engine(url)
        self._lock = threading.RLock()
        metadata = MetaData(schema=schema)
        self._t = _tables(metadata)
        self._dialect = self._engine.dialect.name
        with self._lock:
            try:
                metadata.create_all(self._engine)
            except DBAPIError:
                # Another process created the tables between our check and our CREATE.
                metadata.create_all(self._engine)

    # --- helpers ---------------------------------------------------------------------------------

    def _upsert(self, conn: Connection, table: str, values: Mapping[str, Any], keys: tuple[str, ...]) -> None:
        target = self._t[table]
        builder: Callable[..., Any] = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        stmt = builder(target).values(**values)
        changed = {k: stmt.excluded[k] for k in values if k not in keys}
        conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=changed))

    def _write_balances(self, conn: Connection, balances: Mapping[str, Decimal]) -> None:
        for asset, amount in balances.items():
            self._upsert(conn, "balances", {"asset": asset, "amount": decimal_str(amount)}, ("asset",))

    # --- positions, balances, fills --------------------------------------------------------------

    def load_positions(self) -> list[Position]:
        t = self._t["positions"]
        with self._lock, self._engine.connect() as conn:
            rows = conn.execute(select(t).order_by(t.c.strategy, t.c.venue, t.c.symbol)).all()
        return [
            Position(
                r.strategy,
                r.venue,
                r.symbol,
                Decimal(r.quantity),
                Decimal(r.avg_price),
                Decimal(r.realized_pnl),
                int(r.opened_ts),
            )
            for r in rows
        ]

    def load_balances(self) -> dict[str, Decimal]:
        t = self._t["balances"]
        with self._lock, self._engine.connect() as conn:
            return {r.asset: Decimal(r.amount) for r in conn.execute(select(t).order_by(t.c.asset))}

    def set_balances(self, balances: Mapping[str, Decimal]) -> None:
        with self._lock, self._engine.begin() as conn:
            self._write_balances(conn, balances)

    def save_fill(self, fill: Fill, position: Position, balances: Mapping[str, Decimal]) -> None:
        """One transaction: the fill, the position it produced and the balances after it."""
        self.save_fills([(fill, position)], balances)

    def save_fills(self, batch: Sequence[tuple[Fill, Position]], balances: Mapping[str, Decimal]) -> None:
        """One transaction for a batch of fills (one scheduler step), the positions and final balances."""
        if not batch:
            return
        with self._lock, self._engine.begin() as conn:
            conn.execute(
                insert(self._t["fills"]),
                [
                    {
                        "order_id": fill.order_id,
                        "client_order_id": fill.client_order_id,
                        "strategy": fill.strategy,
                        "venue": fill.venue,
                        "symbol": fill.symbol,
                        "side": fill.side.value,
                        "quantity": decimal_str(fill.quantity),
                        "price": decimal_str(fill.price),
                        "fee": decimal_str(fill.fee),
                        "fee_asset": fill.fee_asset,
                        "liquidity": fill.liquidity.value,
                        "ts": fill.ts,
                    }
                    for fill, _ in batch
                ],
            )
            latest = {(p.strategy, p.venue, p.symbol): p for _, p in batch}
            for position in latest.values():
                self._upsert(
                    conn,
                    "positions",
                    {
                        "strategy": position.strategy,
                        "venue": position.venue,
                        "symbol": position.symbol,
                        "quantity": decimal_str(position.quantity),
                        "avg_price": decimal_str(position.avg_price),
                        "realized_pnl": decimal_str(position.realized_pnl),
                        "opened_ts": position.opened_ts,
                    },
                    ("strategy", "venue", "symbol"),
                )
            self._write_balances(conn, balances)

    def load_fills(self, strategy: str | None = None) -> list[Fill]:
        t = self._t["fills"]
        query = select(t).order_by(t.c.id)
        if strategy is not None:
            query = query.where(t.c.strategy == strategy)
        with self._lock, self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            Fill(
                r.order_id,
                r.client_order_id,
                r.strategy,
                r.venue,
                r.symbol,
                Side(r.side),
                Decimal(r.quantity),
                Decimal(r.price),
                Decimal(r.fee),
                r.fee_asset,
                Liquidity(r.liquidity),
                int(r.ts),
            )
            for r in rows
        ]

    # --- operator state --------------------------------------------------------------------------

    def strategy_statuses(self) -> dict[str, StrategyStatus]:
        t = self._t["strategy_status"]
        with self._lock, self._engine.connect() as conn:
            rows = conn.execute(select(t)).all()
        return {
            r.strategy: StrategyStatus(
                r.strategy,
                bool(r.disabled),
                r.reason,
                r.ticket,
                r.requested_by,
                None if r.until_ms is None else int(r.until_ms),
                int(r.changed_ms),
            )
            for r in rows
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
            self._upsert(conn, "strategy_status", values, ("strategy",))

    def trading_states(self) -> dict[str, TradingState]:
        t = self._t["trading_state"]
        with self._lock, self._engine.connect() as conn:
            return {r.scope: TradingState(r.state) for r in conn.execute(select(t))}

    def trading_state_details(self) -> dict[str, tuple[TradingState, str, int]]:
        """scope -> (state, reason, ts_ms)."""
        t = self._t["trading_state"]
        with self._lock, self._engine.connect() as conn:
            return {r.scope: (TradingState(r.state), r.reason, int(r.ts_ms)) for r in conn.execute(select(t))}

    def set_trading_state(self, scope: str, state: TradingState, reason: str, ts_ms: int) -> None:
        values = {"scope": scope, "state": state.value, "reason": reason, "ts_ms": ts_ms}
        with self._lock, self._engine.begin() as conn:
            self._upsert(conn, "trading_state", values, ("scope",))

    # --- small key/value table -------------------------------------------------------------------

    def kv_get(self, key: str) -> str | None:
        t = self._t["kv"]
        with self._lock, self._engine.connect() as conn:
            return conn.execute(select(t.c.value).where(t.c.key == key)).scalar_one_or_none()

    def kv_set(self, key: str, value: str) -> None:
        with self._lock, self._engine.begin() as conn:
            self._upsert(conn, "kv", {"key": key, "value": value}, ("key",))

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
