"""A real `tradeops run --run-forever` on a mode: live environment trading the exchange simulator
(a real subprocess) through an unmodified ccxt client, on loopback. Bounded: every wait has a
deadline, every child is stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from tests.integration.live import TRADEOPS, entries, wait_for
from tests.integration.live_sim import (
    ENV_NAME,
    decisions,
    fills,
    live_env,
    live_repo,
    sim_client,
    sim_state,
    start_scheduler,
    stop_scheduler,
    tradeops_cli,
)

pytestmark = pytest.mark.timeout(120)


def test_orders_reach_the_simulator_fills_are_booked_once_and_kill9_restart_resends_nothing(tmp_path, sim):
    repo = live_repo(tmp_path / "repo", sim.url, ws_url=sim.ws_url)  # with the user-data stream
    env = live_env(tmp_path, sim.api_key, sim.secret)
    proc = start_scheduler(repo, env, tmp_path / "first.log")
    try:
        wait_for(lambda: len(fills(repo)) >= 2, 40, "two fills booked from the simulator")
        os.kill(proc.pid, signal.SIGKILL)  # mid-run: an order may be in flight
        proc.wait(timeout=10)
    finally:
        stop_scheduler(proc)
    before = sim_state(sim.url)
    proc = start_scheduler(repo, env, tmp_path / "second.log")
    try:
        wait_for(
            lambda: (
                sum(1 for e in decisions(repo) if e["kind"] == "run") >= 2
                and any(e["kind"] == "reconcile" for e in decisions(repo)[-40:])
            ),
            40,
            "the restarted scheduler reconciles",
        )
        wait_for(lambda: sim_state(sim.url)["trades"] > before["trades"], 30, "trading continues")
    finally:
        stop_scheduler(proc)
    client_ids = sim_state(sim.url)["client_order_ids"]
    assert len(client_ids) == len(set(client_ids)), "an order was sent twice"
    booked = [e["metadata"]["trade_id"] for e in fills(repo)]
    assert len(booked) == len(set(booked)), "a venue trade was booked twice"
    venue_trades = sim_client(sim).fetch_my_trades("BTC/USDT", None, 1000)
    assert sorted(booked, key=int) == sorted((str(t["id"]) for t in venue_trades), key=int)
    buys = [e for e in fills(repo) if e["metadata"]["side"] == "buy"]
    assert buys and all(e["metadata"]["fee_asset"] == "BTC" for e in buys)  # Binance spot: buyers pay in base
    checked = tradeops_cli(repo, env, "state", "check", "--environment", ENV_NAME)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    reconciled = tradeops_cli(repo, env, "reconcile", "--environment", ENV_NAME, "--json")
    report = json.loads(reconciled.stdout)
    assert reconciled.returncode == 0 and report["clean"], report


def test_timeout_after_accept_and_a_429_storm_leave_one_order_per_client_id(tmp_path, sim):
    repo = live_repo(tmp_path / "repo", sim.url)
    env = live_env(tmp_path, sim.api_key, sim.secret)
    sim.admin("faults", {"hang_after_accept": 1, "hang_seconds": 3})
    proc = start_scheduler(repo, env, tmp_path / "sched.log")
    try:
        wait_for(lambda: len(fills(repo)) >= 1, 60, "the first (hung) order resolved and booked")
        sim.admin("faults", {"storm_429": 8, "retry_after_s": 1})
        count = sim_state(sim.url)["trades"]
        wait_for(lambda: sim_state(sim.url)["trades"] > count, 40, "trading after the 429 storm")
    finally:
        stop_scheduler(proc)
    client_ids = sim_state(sim.url)["client_order_ids"]
    assert len(client_ids) == len(set(client_ids))
    first = fills(repo)[0]["artefacts"]["client_order_id"]
    assert client_ids.count(first) == 1
    booked = [e["metadata"]["trade_id"] for e in fills(repo)]
    assert len(booked) == len(set(booked))


def test_watchdog_cancels_venue_orders_when_the_scheduler_is_stopped_with_the_kill_switch_on(tmp_path, sim):
    repo = live_repo(
        tmp_path / "repo",
        sim.url,
        watchdog={"confirm_seconds": 1.0, "stale_seconds": 2.0, "poll_seconds": 0.2},
    )
    env = live_env(tmp_path, sim.api_key, sim.secret)
    proc = start_scheduler(repo, env, tmp_path / "sched.log")
    dog = None
    try:
        wait_for(lambda: len(fills(repo)) >= 1, 40, "the scheduler trading")
        client = sim_client(sim)
        price = client.fetch_ticker("BTC/USDT")["last"]
        for n in range(2):  # resting orders on the account (placed by another client of it)
            client.create_order(
                "BTC/USDT", "limit", "buy", 0.001, round(price * 0.5, 2), {"clientOrderId": f"manual-{n}"}
            )
        assert sim_state(sim.url)["open_orders"] == 2

        def reduced_on_unknown_orders() -> bool:
            log = decisions(repo)
            diff = any(
                e["kind"] == "reconcile" and "unknown_venue_order" in e["metadata"]["detail"] for e in log
            )
            reducing = any(
                e["kind"] == "trading_state"
                and e["status"] == "reducing"
                and e["metadata"]["reason"].startswith("reconcile_diff")
                for e in log
            )
            return diff and reducing

        wait_for(reduced_on_unknown_orders, 20, "the scheduler reducing on orders it does not know")
        os.kill(proc.pid, signal.SIGSTOP)
        engaged = tradeops_cli(
            repo,
            env,
            "kill-switch",
            "disable",
            "--reason",
            "watchdog drill",
            "--ticket",
            "INC-1",
            "--requested-by",
            "itest",
            "--environment",
            ENV_NAME,
        )
        assert engaged.returncode == 0, engaged.stderr
        dog = subprocess.Popen(
            [str(TRADEOPS), "watchdog", "--environment", ENV_NAME, "--duration", "30"],
            cwd=repo,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(
            lambda: not sim_state(sim.url)["open_orders"], 20, "the watchdog cancelling the venue's orders"
        )
    finally:
        if dog is not None:
            dog.terminate()
            dog.wait(timeout=20)
        stop_scheduler(proc)
    ops_log = entries(repo / "audit" / "decision_logs" / "stage4.jsonl")
    acted = [e for e in ops_log if e["kind"] == "watchdog"]
    assert acted and acted[0]["signature"]["value"]
    assert acted[0]["artefacts"]["trigger"] in ("kill_switch_unconfirmed", "heartbeat_stale")
    assert len(acted[0]["metadata"]["cancelled"]) == 2
    verified = tradeops_cli(repo, env, "decision-log", "verify", "audit/decision_logs/stage4.jsonl")
    assert verified.returncode == 0, verified.stdout + verified.stderr
