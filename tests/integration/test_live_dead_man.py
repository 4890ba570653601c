"""The venue-side dead-man's switch: a live scheduler whose venue has `dead_man_seconds` arms the
simulator's cancel-all countdown before trading and re-arms it while it steps; frozen by SIGSTOP
(no watchdog running), the venue itself cancels the account's open orders when the countdown
runs out. The simulator's countdown is also checked directly through an unmodified ccxt client."""

from __future__ import annotations

import os
import signal

import pytest

from tests.integration.live import wait_for
from tests.integration.live_sim import (
    fills,
    live_env,
    live_repo,
    sim_client,
    sim_state,
    start_scheduler,
    stop_scheduler,
)

pytestmark = pytest.mark.timeout(150)


def _rest(client, price: float, n: int) -> None:
    for i in range(n):
        client.create_order(
            "BTC/USDT", "limit", "buy", 0.001, round(price * 0.5, 2), {"clientOrderId": f"rest-{i}"}
        )


def test_the_venue_cancels_open_orders_when_the_countdown_is_not_rearmed(sim):
    client = sim_client(sim)
    client.load_markets()
    _rest(client, client.fetch_ticker("BTC/USDT")["last"], 2)
    armed = client.request(
        "countdownCancelAll", ["private"], "POST", {"symbol": "BTCUSDT", "countdownTime": 1000}
    )
    assert armed == {"symbol": "BTCUSDT", "countdownTime": "1000"}
    wait_for(lambda: sim_state(sim.url)["open_orders"] == 0, 10, "the venue's countdown cancelling")
    [fired] = sim_state(sim.url)["countdowns"]["fired"]
    assert sorted(fired["cancelled"]) == ["rest-0", "rest-1"]
    _rest(client, client.fetch_ticker("BTC/USDT")["last"], 1)
    client.request(
        "countdownCancelAll", ["private"], "POST", {"symbol": "BTCUSDT", "countdownTime": 0}
    )  # off
    assert sim_state(sim.url)["open_orders"] == 1 and len(sim_state(sim.url)["countdowns"]["fired"]) == 1


def test_a_frozen_scheduler_leaves_no_open_order_at_a_venue_with_a_dead_man_switch(tmp_path, sim):
    repo = live_repo(tmp_path / "repo", sim.url, dead_man_seconds=5.0, reconcile_s=30.0)
    env = live_env(tmp_path, sim.api_key, sim.secret)
    proc = start_scheduler(repo, env, tmp_path / "sched.log")
    try:
        wait_for(lambda: len(fills(repo)) >= 1, 40, "the scheduler trading")
        client = sim_client(sim)
        _rest(client, client.fetch_ticker("BTC/USDT")["last"], 2)
        armed = sim_state(sim.url)["countdowns"]["armed"]
        wait_for(lambda: sim_state(sim.url)["countdowns"]["armed"] >= armed + 4, 20, "re-arms while stepping")
        state = sim_state(sim.url)
        assert state["open_orders"] == 2 and state["countdowns"]["fired"] == []  # kept while it beats
        os.kill(proc.pid, signal.SIGSTOP)
        wait_for(lambda: sim_state(sim.url)["open_orders"] == 0, 20, "the venue cancelling on its own")
        [fired] = sim_state(sim.url)["countdowns"]["fired"]
        assert sorted(fired["cancelled"]) == ["rest-0", "rest-1"]
    finally:
        stop_scheduler(proc)
