"""The StateStore contract, run against SQLite (a temp file) and PostgreSQL (127.0.0.1:5432/test)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import port_open, require_service
from tradeops.config.models import EnvironmentConfig
from tradeops.domain.trading import Fill, Liquidity, Position, Side, TradingState
from tradeops.persistence.sql_store import SqlStateStore, open_state_store
from tradeops.runtime.ports import StateStore, StrategyStatus

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


def fill(qty: str = "0.5", price: str = "100.25", strategy: str = "daily_trend", ts: int = 1_000) -> Fill:
    return Fill(
        "o-1", "c-1", strategy, "binance", "BTC/USDT", Side.BUY, Decimal(qty), Decimal(price),
        Decimal("0.02"), "USDT", Liquidity.TAKER, ts,
    )  # fmt: skip


def test_store_implements_the_port(open_store: Opener) -> None:
    store: StateStore = open_store()
    assert store.load_positions() == []
    assert store.load_balances() == {}
    assert store.strategy_statuses() == {}
    assert store.trading_states() == {}


def test_save_fill_round_trip_keeps_decimals_exact(open_store: Opener) -> None:
    store = open_store()
    f = fill()
    position = Position("daily_trend", "binance", "BTC/USDT").apply(f)
    store.save_fill(f, position, {"USDT": Decimal("99949.855"), "BTC": Decimal("0.5")})
    later = replace(fill(qty="0.2", price="101.1", ts=2_000), side=Side.SELL)
    position2 = position.apply(later)
    store.save_fill(later, position2, {"USDT": Decimal("99970.055"), "BTC": Decimal("0.3")})

    reopened = open_store()
    assert reopened.load_positions() == [position2]
    assert reopened.load_balances() == {"USDT": Decimal("99970.055"), "BTC": Decimal("0.3")}
    assert [x.ts for x in reopened.load_fills()] == [1_000, 2_000]
    assert reopened.load_fills()[0] == f
    assert reopened.load_fills("mean_reversion") == []


def test_save_fill_is_atomic(open_store: Opener) -> None:
    store = open_store()
    first = fill()
    position = Position("daily_trend", "binance", "BTC/USDT").apply(first)
    store.save_fill(first, position, {"USDT": Decimal("950")})

    second = fill(qty="1", ts=2_000)
    broken_balances = {"USDT": Decimal("850"), "BTC": "not a decimal"}  # fails after fill + position
    with pytest.raises(AttributeError):
        store.save_fill(second, position.apply(second), broken_balances)  # type: ignore[arg-type]

    reopened = open_store()
    assert reopened.load_fills() == [first]
    assert reopened.load_positions() == [position]
    assert reopened.load_balances() == {"USDT": Decimal("950")}


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


def test_trading_state_round_trip(open_store: Opener) -> None:
    store = open_store()
    store.set_trading_state("global", TradingState.REDUCING, "hard drawdown 0.11", 5)
    store.set_trading_state("daily_trend", TradingState.HALTED, "operator", 6)
    store.set_trading_state("global", TradingState.ACTIVE, "recovered", 7)
    reopened = open_store()
    assert reopened.trading_states() == {"global": TradingState.ACTIVE, "daily_trend": TradingState.HALTED}
    assert reopened.trading_state_details()["global"] == (TradingState.ACTIVE, "recovered", 7)


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
        store.set_balances({"USDT": Decimal(1)})
        assert (tmp_path / "var" / "state" / "s.sqlite").exists()
        engine = create_engine(store.url)
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        engine.dispose()
    finally:
        store.close()
