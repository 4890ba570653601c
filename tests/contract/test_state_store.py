"""The StateStore contract, run against SQLite (a temp file) and PostgreSQL (127.0.0.1:5432/test)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import port_open, require_service
from tests.statekit import account_entries, as_entry, order
from tradeops.config.models import EnvironmentConfig
from tradeops.domain import events
from tradeops.domain.money import decimal_str
from tradeops.domain.trading import StrategyStatus, TradingState
from tradeops.persistence.projection import Projection
from tradeops.persistence.schema import PROJECTED_TABLES, SCHEMA_REVISION
from tradeops.persistence.sql_store import (
    LogPosition,
    SchemaOutdated,
    SqlStateStore,
    StateConflict,
    open_state_store,
)
from tradeops.runtime.ports import StateStore

# .ci/run exports the URL (with a password where the server is not on trust auth).
PG_URL = os.environ.get("TRADEOPS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

Opener = Callable[[], SqlStateStore]


@pytest.fixture(params=["sqlite", "postgresql"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """A function opening (again) the same database; every opened store is closed afterwards."""
    opened: list[SqlStateStore] = []
    if request.param == "sqlite":
        url, schema = f"sqlite:///{tmp_path / 'state.sqlite'}", None
    else:
        require_service(port_open("127.0.0.1", 5432), "PostgreSQL on 127.0.0.1:5432", "postgresql")
        url, schema = PG_URL, f"tradeops_test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def opener() -> SqlStateStore:
        store = SqlStateStore(url, schema=schema)
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()
    if schema is not None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def project(store: SqlStateStore, entries: list[dict[str, Any]], first_seq: int = 1) -> Projection:
    """Fold `entries` (seq from `first_seq`) and write them as one batch, as the live sink does."""
    projection = store.load_projection()
    for offset, entry in enumerate(entries):
        projection.apply(first_seq + offset, entry)
    changes, new_orders = projection.drain()
    last = first_seq + len(entries) - 1
    store.apply(changes, LogPosition("sha256:log", last, f"sha256:head{last}"), new_orders)
    return projection


def test_store_implements_the_port(open_store: Opener) -> None:
    store: StateStore = open_store()
    assert store.load_positions() == []
    assert store.load_balances() == {}
    assert store.strategy_statuses() == {}
    assert store.trading_states() == {}


def test_a_new_store_is_created_at_the_current_schema_revision(open_store: Opener) -> None:
    store = open_store()
    assert store.schema_revision() == SCHEMA_REVISION
    assert store.log_position() is None
    assert store.projected_is_empty()


def test_projected_rows_round_trip_exactly_with_their_log_position(open_store: Opener) -> None:
    store = open_store()
    expected = project(store, account_entries())
    reopened = open_store()
    for table in PROJECTED_TABLES:
        assert reopened.table_rows(table) == expected.rows(table), table
    assert reopened.log_position() == LogPosition("sha256:log", 10, "sha256:head10")
    assert reopened.load_balances() == {"USDT": expected.balances["USDT"]}
    position = reopened.load_positions()[0]
    assert (position.quantity, position.avg_price) == (Decimal("0.5"), Decimal("100.35"))
    assert [f.order_id for f in reopened.load_fills()] == [
        "paper-binance-1",
        "paper-binance-1",
        "paper-binance-2",
    ]
    assert reopened.load_open_orders() == []
    assert reopened.trading_state_details()["global"] == (TradingState.REDUCING, "drawdown", 901_000)


@pytest.mark.parametrize(
    "amount",
    ["0.000000000000000000000000123456789", "12345678901234567890123.123456789", "-0.1", "100000"],
)
def test_money_is_exact_on_both_engines(open_store: Opener, amount: str) -> None:
    store = open_store()
    project(store, [as_entry(events.balances_set(0, {"USDT": amount}, "test"))])
    read = open_store().load_balances()["USDT"]
    assert read == Decimal(amount)
    assert decimal_str(read) == amount  # every digit, no rounding to 28 places


def test_a_repeated_client_order_id_is_refused_and_nothing_is_written(open_store: Opener) -> None:
    store = open_store()
    project(store, account_entries())
    before = {t: store.table_rows(t) for t in PROJECTED_TABLES}
    again = Projection()  # a projection that does not know the first order (e.g. another process)
    again.apply(11, as_entry(events.order_accepted(order())))
    changes, new_orders = again.drain()
    with pytest.raises(StateConflict, match="unique id would repeat"):
        store.apply(changes, LogPosition("sha256:log", 11, "sha256:h11"), new_orders)
    assert {t: store.table_rows(t) for t in PROJECTED_TABLES} == before
    assert store.log_position() == LogPosition("sha256:log", 10, "sha256:head10")


def test_an_exchange_order_id_names_one_order_per_venue(open_store: Opener) -> None:
    store = open_store()
    project(store, account_entries())
    other = order("daily_trend-3000-3", ts=3_000)
    intent = project(store, [as_entry(events.order_accepted(other))], first_seq=11)
    assert intent.orders[other.client_order_id].status == "intent"
    fresh = store.load_projection()
    fresh.orders[other.client_order_id].order_id = None
    fresh.apply(12, as_entry(events.order_submitted(other, "paper-binance-1")))  # reused id
    changes, new_orders = fresh.drain()
    with pytest.raises(StateConflict):
        store.apply(changes, LogPosition("sha256:log", 12, "sha256:h12"), new_orders)


def test_an_older_schema_is_refused_with_the_upgrade_command(open_store: Opener) -> None:
    store = open_store()
    with store._engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000_older'"))
    with pytest.raises(SchemaOutdated, match="tradeops state migrate"):
        open_store()


def test_tables_from_before_migrations_are_refused_with_the_rebuild_command(tmp_path: Path) -> None:
    path = tmp_path / "legacy.sqlite"
    legacy = create_engine(f"sqlite:///{path}")
    with legacy.begin() as conn:
        conn.execute(text("CREATE TABLE fills (id INTEGER PRIMARY KEY, order_id VARCHAR(128))"))
    legacy.dispose()
    with pytest.raises(SchemaOutdated, match="tradeops state rebuild --force"):
        SqlStateStore(f"sqlite:///{path}")


def test_strategy_status_survives_reopen(open_store: Opener) -> None:
    store = open_store()
    status = StrategyStatus("cross_exchange", True, "spread feed broken", "INC-7", "l2-ops", 9_000, 1_000)
    store.set_strategy_status(status)
    store.set_strategy_status(StrategyStatus("daily_trend", False, "back", "INC-6", "ops", None, 500))
    store.close()

    reopened = open_store()
    assert reopened.strategy_statuses() == {
        "cross_exchange": status,
        "daily_trend": StrategyStatus("daily_trend", False, "back", "INC-6", "ops", None, 500),
    }
    restored = StrategyStatus("cross_exchange", False, "fixed", "INC-7", "l2-ops", None, 2_000)
    reopened.set_strategy_status(restored)
    assert open_store().strategy_statuses()["cross_exchange"] == restored


def test_kv_swap_has_exactly_one_winner(open_store: Opener) -> None:
    store = open_store()
    assert store.kv_get("k") is None
    assert store.kv_swap("k", None, "a")
    assert not store.kv_swap("k", None, "b")
    assert store.kv_get("k") == "a"

    other = open_store()  # a second connection (another process would look the same)
    results: list[bool] = []
    barrier = threading.Barrier(2)

    def swap(s: SqlStateStore, value: str) -> None:
        barrier.wait()
        results.append(s.kv_swap("k", "a", value))

    threads = [threading.Thread(target=swap, args=(s, v)) for s, v in ((store, "x"), (other, "y"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True]
    assert store.kv_get("k") in ("x", "y")
    store.kv_set("k", "z")
    assert other.kv_get("k") == "z"


def test_open_state_store_creates_the_sqlite_file_in_wal_mode(tmp_path: Path) -> None:
    env = EnvironmentConfig(state_path=str(tmp_path / "var" / "state" / "s.sqlite"), venues={})
    store = open_state_store(env)
    try:
        project(store, [as_entry(events.balances_set(0, {"USDT": "1"}, "test"))])
        assert (tmp_path / "var" / "state" / "s.sqlite").exists()
        engine = create_engine(store.url)
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        engine.dispose()
    finally:
        store.close()


def test_the_migrations_build_exactly_the_schema_the_code_uses(open_store: Opener) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from tradeops.persistence.schema import build_metadata

    store = open_store()
    with store._engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), build_metadata()) == []


def test_replacing_the_projection_is_one_transaction_that_keeps_operator_state(open_store: Opener) -> None:
    store = open_store()
    project(store, account_entries())
    status = StrategyStatus("cross_exchange", True, "spread feed broken", "INC-7", "l2-ops", None, 1_000)
    store.set_strategy_status(status)
    smaller = Projection()
    for seq, entry in enumerate(account_entries()[:4], 1):
        smaller.apply(seq, entry)
    store.replace_projection(smaller, LogPosition("sha256:log", 4, "sha256:head4"))
    reopened = open_store()
    for table in PROJECTED_TABLES:
        assert reopened.table_rows(table) == smaller.rows(table), table
    assert reopened.log_position() == LogPosition("sha256:log", 4, "sha256:head4")
    assert reopened.strategy_statuses() == {"cross_exchange": status}
