"""The state store as a projection of the decision log: exact money, orders, unique ids, log position.

Revision ID: 0001_system_of_record
Revises:
"""

from __future__ import annotations

from alembic import op

from tradeops.persistence.schema import build_metadata

revision = "0001_system_of_record"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    build_metadata().create_all(op.get_bind())


def downgrade() -> None:
    build_metadata().drop_all(op.get_bind())
