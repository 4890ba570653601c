"""Alembic migrations of the state store (run with `tradeops state migrate`)."""
