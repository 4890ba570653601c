"""A latency spike at a live venue reaches a real Alertmanager: a `tradeops run --run-forever`
scheduler trades the exchange simulator through ccxt, Prometheus scrapes the scheduler, the
simulator's `latency_ms` fault slows every answer, and Stage4ExchangeEndpointLatencyCritical fires
from the per-endpoint latency histogram (rules as committed, only `for:` shortened)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import free_port
from tests.integration.live_sim import fills, live_env, live_repo, start_scheduler, stop_scheduler
from tests.integration.test_prometheus_alertmanager import Process, Stack, start_services, wait_until
from tradeops.bootstrap.exchange_sim import SimulatorProcess
from tradeops.runtime.stats import RuntimeStats

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.timeout(180)]
ALERT = "Stage4ExchangeEndpointLatencyCritical"


def test_injected_venue_latency_fires_the_critical_endpoint_latency_alert(tmp_path):
    sim = SimulatorProcess("--step-ms", "300", "--interval", "1m", "--symbols", "BTC/USDT")
    processes: list[Process] = []
    proc = None
    try:
        repo = live_repo(tmp_path / "repo", sim.url, ws_url=sim.ws_url, request_timeout_ms=10_000)
        env = live_env(tmp_path, sim.api_key, sim.secret)
        port = free_port()
        proc = start_scheduler(repo, env, tmp_path / "sched.log", ["--metrics-port", str(port)])
        metrics = f"http://127.0.0.1:{port}/metrics"
        wait_until("the scheduler's exporter", lambda: httpx.get(metrics).status_code == 200)
        prometheus_url, alertmanager_url = start_services(tmp_path, port, processes)
        stack = Stack(RuntimeStats("scheduler process"), None, prometheus_url, alertmanager_url)
        wait_until("fills booked", lambda: len(fills(repo)) >= 1)
        order_latency = 'tradeops_exchange_endpoint_latency_seconds_count{endpoint="POST /api/v3/order"}'
        wait_until("per-endpoint latency scraped", lambda: stack.query(order_latency))
        assert stack.query("tradeops_exchange_used_weight > 0")  # the venue's weight header
        assert stack.query(f'ALERTS{{alertname="{ALERT}"}}') == []  # a healthy venue: no alert

        sim.admin("faults", {"latency_ms": 2_700})
        wait_until(f"{ALERT} active in Alertmanager", lambda: stack.am_alerts(ALERT), timeout=120)
        fired = stack.am_alerts(ALERT)
        assert {a["labels"]["severity"] for a in fired} == {"critical"}
        assert all(a["labels"]["exchange"] == "binance" for a in fired)
        assert {a["labels"]["endpoint"] for a in fired} <= {
            e["metric"]["endpoint"] for e in stack.query("tradeops_exchange_endpoint_latency_seconds_count")
        }
    finally:
        if proc is not None:
            stop_scheduler(proc)
        for process in reversed(processes):
            process.stop()
        sim.stop()
