"""Adapters of the StateStore port: SQLite by default, PostgreSQL when configured."""
