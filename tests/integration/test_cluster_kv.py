"""The override bucket on a real nats-server: what one host puts, another host's watcher judges
(a watcher started later gets the current values first), fail-safe on malformed values."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.integration.cluster_harness import NATS_SERVER, start_nats, wait_for
from tradeops.cluster.connection import NatsConnection
from tradeops.cluster.lease import ensure_bucket
from tradeops.cluster.overrides_kv import KvOverrides
from tradeops.config.overrides import COMPONENTS

pytestmark = pytest.mark.services
FILE = COMPONENTS["multi_strategy"].file_name
DOCUMENT = (
    b'{"action":"disable_multi_strategy","reason":"drill","requested_by":"ops",'
    b'"schema":"stage4.scheduler.override","schema_version":"1.0","ticket":"INC-1",'
    b'"timestamp":"2026-01-01T00:00:00Z"}'
)


@pytest.fixture
def nats_url(tmp_path: Path):
    require_service(os.path.exists(NATS_SERVER), "nats-server (scripts/dev/ensure-tools.sh)")
    proc, port = start_nats(tmp_path / "js")
    yield f"nats://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def _host(url: str, name: str) -> tuple[NatsConnection, KvOverrides]:
    conn = NatsConnection(url, name=name)
    conn.connect()
    kv = ensure_bucket(conn, "tradeops_overrides", None, 2.0)
    return conn, KvOverrides(conn, kv, "binance_paper", 2.0)


def test_an_override_put_on_one_host_is_in_force_on_another_started_later(nats_url: str) -> None:
    conn_a, a = _host(nats_url, "a")
    try:
        a.publish(FILE, DOCUMENT)
        a.publish_strategy("daily_trend", disabled=True, until_ms=None)
        conn_b, b = _host(nats_url, "b")
        try:
            b.start()  # after the values were put
            assert b.state().active and not b.state().malformed
            assert b.strategy_disabled("daily_trend", 0) and not b.strategy_disabled("mean_reversion", 0)
            a.publish(FILE, b"[1, 2]")  # not an override document
            assert wait_for(lambda: b.state().malformed, 10)
            a.publish(FILE, None)
            a.publish_strategy("daily_trend", disabled=True, until_ms=1_000)
            assert wait_for(lambda: not b.state().active, 10)

            # a separate key, its update may come after the document's removal: waited for too
            def timed_disable() -> bool:
                early, at = b.strategy_disabled("daily_trend", 999), b.strategy_disabled("daily_trend", 1000)
                return early and not at

            assert wait_for(timed_disable, 10)
            a.conn.call(a.kv.put("binance_paper.strategy.mean_reversion", b"garbage"), 2.0)
            assert wait_for(lambda: b.strategy_disabled("mean_reversion", 0), 10)  # fail-safe
        finally:
            conn_b.close()
    finally:
        conn_a.close()
