"""Alembic environment: runs on the connection the store hands over (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from tradeops.persistence.schema import build_metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=build_metadata(), render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
