"""The state store's tables, one definition shared by the runtime and the Alembic migrations.

Money is exact: NUMERIC without precision on PostgreSQL (arbitrary precision), and on SQLite text
holding the plain decimal notation; every value written is checked to read back identical.
Projected tables (balances, positions, orders, fills, trading_state, replay_cursor, projection_meta,
log_position) are derived from the decision log; strategy_status and kv are operator state written
by the CLI and the control API (each change has its own signed entry in the operations log).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Dialect,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

from tradeops.domain.money import decimal_str

# The Alembic revision this code reads and writes; the runtime refuses an older store.
SCHEMA_REVISION = "0001_system_of_record"
PROJECTED_TABLES = (
    "balances",
    "positions",
    "orders",
    "fills",
    "trading_state",
    "replay_cursor",
    "projection_meta",
)


class MoneyRoundTripError(ValueError):
    """A decimal would not read back exactly as written."""


class Money(TypeDecorator[Decimal]):
    """Exact decimal: NUMERIC on PostgreSQL, plain-notation text elsewhere."""

    impl = String(80)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(asdecimal=True))
        return dialect.type_descriptor(String(80))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal) or not value.is_finite():
            raise MoneyRoundTripError(f"money value {value!r} is not a finite Decimal")
        text = decimal_str(value)
        if Decimal(text) != value:
            raise MoneyRoundTripError(f"money value {value!r} does not round-trip as {text!r}")
        return Decimal(text) if dialect.name == "postgresql" else text

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))


def build_metadata() -> MetaData:
    metadata = MetaData()
    Table(
        "balances",
        metadata,
        Column("asset", String(32), primary_key=True),
        Column("amount", Money(), nullable=False),
    )
    Table(
        "positions",
        metadata,
        Column("strategy", String(64), primary_key=True),
        Column("venue", String(64), primary_key=True),
        Column("symbol", String(64), primary_key=True),
        Column("quantity", Money(), nullable=False),
        Column("avg_price", Money(), nullable=False),
        Column("realized_pnl", Money(), nullable=False),
        Column("opened_ts", BigInteger, nullable=False),
    )
    Table(
        "orders",
        metadata,
        Column("client_order_id", String(128), primary_key=True),
        Column("venue", String(64), nullable=False),
        Column("order_id", String(128), nullable=True),  # the venue's id, once acknowledged
        Column("strategy", String(64), nullable=False),
        Column("symbol", String(64), nullable=False),
        Column("side", String(8), nullable=False),
        Column("order_type", String(16), nullable=False),
        Column("limit_price", Money(), nullable=True),
        Column("quantity", Money(), nullable=False),
        Column("filled", Money(), nullable=False),
        Column("reduce_only", Boolean, nullable=False),
        Column("status", String(16), nullable=False),
        Column("ts", BigInteger, nullable=False),
        Column("intent_seq", BigInteger, nullable=False, unique=True),
        Column("updated_seq", BigInteger, nullable=False),
        UniqueConstraint("venue", "order_id", name="uq_orders_venue_order_id"),
    )
    Table(
        "fills",
        metadata,
        Column("log_seq", BigInteger, primary_key=True, autoincrement=False),
        Column("fill_id", String(160), nullable=False),
        Column("order_id", String(128), nullable=False),
        Column("client_order_id", String(128), nullable=False),
        Column("strategy", String(64), nullable=False),
        Column("venue", String(64), nullable=False),
        Column("symbol", String(64), nullable=False),
        Column("side", String(8), nullable=False),
        Column("quantity", Money(), nullable=False),
        Column("price", Money(), nullable=False),
        Column("fee", Money(), nullable=False),
        Column("fee_asset", String(32), nullable=False),
        Column("liquidity", String(8), nullable=False),
        Column("ts", BigInteger, nullable=False),
        UniqueConstraint("venue", "fill_id", name="uq_fills_venue_fill_id"),
    )
    Table(
        "trading_state",
        metadata,
        Column("scope", String(64), primary_key=True),
        Column("state", String(16), nullable=False),
        Column("reason", Text, nullable=False),
        Column("ts_ms", BigInteger, nullable=False),
    )
    Table(
        "replay_cursor",
        metadata,
        Column("series", String(160), primary_key=True),  # "<venue> <symbol>"
        Column("last_bar_ts", BigInteger, nullable=False),
    )
    Table(
        "projection_meta",
        metadata,
        Column("key", String(128), primary_key=True),
        Column("value", Text, nullable=False),
    )
    Table(
        "log_position",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("log_id", String(120), nullable=False),
        Column("seq", BigInteger, nullable=False),
        Column("head", String(120), nullable=False),
    )
    Table(
        "strategy_status",
        metadata,
        Column("strategy", String(64), primary_key=True),
        Column("disabled", Boolean, nullable=False),
        Column("reason", Text, nullable=False),
        Column("ticket", String(128), nullable=False),
        Column("requested_by", String(128), nullable=False),
        Column("until_ms", BigInteger, nullable=True),
        Column("changed_ms", BigInteger, nullable=False),
    )
    Table(
        "kv",
        metadata,
        Column("key", String(128), primary_key=True),
        Column("value", Text, nullable=False),
    )
    return metadata
