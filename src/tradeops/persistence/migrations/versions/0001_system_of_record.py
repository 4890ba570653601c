"""The state store as a projection of the decision log: exact money, orders, unique ids, log position.

Revision ID: 0001_system_of_record
Revises:

Frozen DDL: later schema changes are new revisions, never edits of this one
(tests/contract/test_state_store.py checks that the migrations build exactly persistence/schema.py).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001_system_of_record"
down_revision = None
branch_labels = None
depends_on = None
TABLES = (
    "balances",
    "fills",
    "kv",
    "log_position",
    "orders",
    "positions",
    "projection_meta",
    "replay_cursor",
    "strategy_status",
    "trading_state",
)


def money() -> sa.types.TypeEngine[Any]:
    """Exact decimals: arbitrary-precision NUMERIC on PostgreSQL, plain-notation text on SQLite."""
    return sa.Numeric() if op.get_bind().dialect.name == "postgresql" else sa.String(length=80)


def upgrade() -> None:
    op.create_table(
        "balances",
        sa.Column("asset", sa.String(length=32), primary_key=True),
        sa.Column("amount", money(), nullable=False),
    )
    op.create_table(
        "fills",
        sa.Column("log_seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("fill_id", sa.String(length=160), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("client_order_id", sa.String(length=128), nullable=False),
        sa.Column("strategy", sa.String(length=64), nullable=False),
        sa.Column("venue", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("quantity", money(), nullable=False),
        sa.Column("price", money(), nullable=False),
        sa.Column("fee", money(), nullable=False),
        sa.Column("fee_asset", sa.String(length=32), nullable=False),
        sa.Column("liquidity", sa.String(length=8), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("venue", "fill_id", name="uq_fills_venue_fill_id"),
    )
    op.create_table(
        "kv",
        sa.Column("key", sa.String(length=128), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "log_position",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("log_id", sa.String(length=120), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head", sa.String(length=120), nullable=False),
    )
    op.create_table(
        "orders",
        sa.Column("client_order_id", sa.String(length=128), primary_key=True),
        sa.Column("venue", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=True),
        sa.Column("strategy", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("order_type", sa.String(length=16), nullable=False),
        sa.Column("limit_price", money(), nullable=True),
        sa.Column("quantity", money(), nullable=False),
        sa.Column("filled", money(), nullable=False),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("intent_seq", sa.BigInteger(), nullable=False, unique=True),
        sa.Column("updated_seq", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("venue", "order_id", name="uq_orders_venue_order_id"),
    )
    op.create_table(
        "positions",
        sa.Column("strategy", sa.String(length=64), primary_key=True),
        sa.Column("venue", sa.String(length=64), primary_key=True),
        sa.Column("symbol", sa.String(length=64), primary_key=True),
        sa.Column("quantity", money(), nullable=False),
        sa.Column("avg_price", money(), nullable=False),
        sa.Column("realized_pnl", money(), nullable=False),
        sa.Column("opened_ts", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "projection_meta",
        sa.Column("key", sa.String(length=128), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "replay_cursor",
        sa.Column("series", sa.String(length=160), primary_key=True),
        sa.Column("last_bar_ts", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "strategy_status",
        sa.Column("strategy", sa.String(length=64), primary_key=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ticket", sa.String(length=128), nullable=False),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("until_ms", sa.BigInteger(), nullable=True),
        sa.Column("changed_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "trading_state",
        sa.Column("scope", sa.String(length=64), primary_key=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
