"""A real `tradeops run --run-forever` trading the exchange simulator with websocket market data
(`market_data.websocket`, the stream base taken from `user_stream_url`, as `binance_sim` would):
closed candles come by the ccxt.pro stream (the scheduler's REST
candle requests stop while the market moves), fills are booked; a drop of every stream socket
mid-run is reconnected (counted with `stream="market_data"`), caught up and trading goes on."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import free_port
from tests.integration.live import wait_for
from tests.integration.live_sim import fills, live_env, live_repo, sim_state, start_scheduler, stop_scheduler

pytestmark = pytest.mark.timeout(150)
KLINES = "GET /api/v3/klines"


def _sample(url: str, name: str, **labels: str) -> float | None:
    try:
        text = httpx.get(url, timeout=5).text
    except httpx.HTTPError:
        return None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


def _quiet_window(klines: Callable[[], float | None], cursor: Callable[[], int], bars: int) -> bool:
    """True when the market moved `bars` bars while the scheduler asked REST for no candle."""
    before, start = klines(), cursor()
    wait_for(lambda: cursor() >= start + bars, 30, f"the simulator moving {bars} bars")
    return before is not None and klines() == before


def test_a_scheduler_on_websocket_market_data_trades_and_survives_a_dropped_stream(tmp_path, sim):
    repo = live_repo(tmp_path / "repo", sim.url, ws_url=sim.ws_url, market_ws=True)
    env = live_env(tmp_path, sim.api_key, sim.secret)
    port = free_port()
    proc = start_scheduler(repo, env, tmp_path / "sched.log", ["--metrics-port", str(port)])
    metrics = f"http://127.0.0.1:{port}/metrics"

    def klines() -> float | None:
        return _sample(metrics, "tradeops_exchange_endpoint_latency_seconds_count", endpoint=KLINES)

    def cursor() -> int:
        return int(sim_state(sim.url)["cursor"])

    def market_reconnects() -> float:
        found = _sample(metrics, "tradeops_exchange_stream_reconnects_total", stream="market_data")
        return found or 0.0

    try:
        wait_for(lambda: len(fills(repo)) >= 1, 60, "fills booked from the simulator")
        assert klines(), "the history and the catch-up are loaded by REST"
        wait_for(lambda: _quiet_window(klines, cursor, 10), 60, "bars arriving with no REST candle request")
        staleness = "tradeops_market_data_staleness_seconds"
        wait_for(lambda: _sample(metrics, staleness, symbol="BTC/USDT") == 0.0, 20, "a fresh feed")

        booked = len(fills(repo))
        assert sim.admin("drop-streams", {"down_seconds": 1.0})["dropped"] >= 1
        wait_for(lambda: market_reconnects() >= 1, 30, "the market stream reconnected")
        wait_for(lambda: len(fills(repo)) > booked, 60, "trading after the drop")
        wait_for(lambda: _quiet_window(klines, cursor, 10), 60, "the stream serving bars again")
    finally:
        stop_scheduler(proc)
    assert "market data: binance by websocket (ccxt.pro)" in (tmp_path / "sched.log").read_text()
    client_ids = sim_state(sim.url)["client_order_ids"]
    assert len(client_ids) == len(set(client_ids)), "an order was sent twice"
    trade_ids = [e["metadata"]["trade_id"] for e in fills(repo)]
    assert len(trade_ids) == len(set(trade_ids)), "a venue trade was booked twice"
