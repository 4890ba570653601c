"""The epoch fence on a real PostgreSQL store: a deposed leader's write is refused inside the
transaction (nothing lands) and counted; the current leader's write goes through."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import port_open, require_service
from tests.integration.cluster_harness import drop_schema, new_schema
from tradeops.bootstrap.cluster import cluster_settings
from tradeops.config.load import load_config
from tradeops.config.models import ClusterConfig
from tradeops.domain.errors import UserInputError
from tradeops.persistence import fence
from tradeops.persistence.fence import EpochFence, StaleEpoch
from tradeops.persistence.sql_store import LogPosition, SqlStateStore

ENV = "binance_paper"


@pytest.fixture
def store():
    require_service(port_open("127.0.0.1", 5432), "PostgreSQL on 127.0.0.1:5432")
    schema = new_schema()
    opened = SqlStateStore(schema.url)
    yield opened
    opened.close()
    drop_schema(schema)


def _balance(store: SqlStateStore, amount: str, seq: int) -> None:
    store.apply(
        {"balances": [{"asset": "USDT", "amount": Decimal(amount)}]}, LogPosition("log", seq, "h"), set()
    )


def test_a_stale_epoch_write_is_refused_and_nothing_lands(store) -> None:
    first = fence.advance(store.engine, ENV, "host-a")
    store.fence = EpochFence(ENV, first)
    _balance(store, "100", 1)
    second = fence.advance(store.engine, ENV, "host-b")  # host-b won the lease
    assert second == first + 1
    with pytest.raises(StaleEpoch, match=f"epoch {first} is stale"):
        _balance(store, "1", 2)
    assert store.load_balances() == {"USDT": Decimal("100")}
    assert store.log_position() == LogPosition("log", 1, "h")
    assert fence.current(store.engine, ENV) == (second, "host-b", 1)
    store.fence = EpochFence(ENV, second)
    _balance(store, "90", 2)
    assert store.load_balances() == {"USDT": Decimal("90")}


def test_a_deposed_leaders_heartbeat_is_refused_too(store) -> None:
    store.fence = EpochFence(ENV, fence.advance(store.engine, ENV, "host-a"))
    store.kv_set("runtime.scheduler_heartbeat", "host-a alive")
    second = EpochFence(ENV, fence.advance(store.engine, ENV, "host-b"))
    with pytest.raises(StaleEpoch):
        store.kv_set("runtime.scheduler_heartbeat", "host-a still alive")
    assert store.kv_get("runtime.scheduler_heartbeat") == "host-a alive"
    assert fence.current(store.engine, ENV) == (second.epoch, "host-b", 1)


def test_cluster_mode_names_the_missing_postgresql_state_url() -> None:
    cfg = load_config("config/core.yaml")
    cluster = ClusterConfig(nats_url="nats://127.0.0.1:4222", host_id="host-a")
    cfg = cfg.model_copy(update={"cluster": cluster})
    with pytest.raises(UserInputError, match=r"environments\.binance_paper\.state_url: cluster mode needs"):
        cluster_settings(cfg, ENV)
