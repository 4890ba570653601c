"""cross_exchange live against two simulator processes: a real `tradeops run --run-forever` with a
mode: live environment whose venues `binance` and `bybit` are two exchange simulators (each its
own market, account, keys and user-data stream), both reached through unmodified ccxt clients.
Both legs reach their venue, fills are booked once per venue trade, and the reconciliation of
both venues (orders and balances per venue) is clean."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.integration.live import wait_for
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
from tradeops.bootstrap.exchange_sim import SimulatorProcess

pytestmark = pytest.mark.timeout(150)
SIM_ARGS = ("--step-ms", "300", "--interval", "1m", "--symbols", "BTC/USDT")


@pytest.fixture
def sims() -> Iterator[tuple[SimulatorProcess, SimulatorProcess]]:
    first = SimulatorProcess(*SIM_ARGS, "--seed", "7")
    try:
        second = SimulatorProcess(*SIM_ARGS, "--seed", "11")  # another market: the prices differ
    except BaseException:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        second.stop()
        first.stop()


def test_cross_exchange_trades_both_simulators_and_both_reconcile_clean(tmp_path, sims):
    binance, bybit = sims
    repo = live_repo(
        tmp_path / "repo",
        binance.url,
        ws_url=binance.ws_url,
        second=(bybit.url, bybit.ws_url),
        cross_exchange={"max_quote_age_ms": 600_000, "max_open_seconds": 5},
    )
    env = live_env(tmp_path, binance.api_key, binance.secret, second=(bybit.api_key, bybit.secret))
    proc = start_scheduler(repo, env, tmp_path / "sched.log")
    try:

        def both_venues_filled() -> bool:
            venues = Counter(e["artefacts"]["venue"] for e in fills(repo))
            return venues["binance"] >= 2 and venues["bybit"] >= 2

        wait_for(both_venues_filled, 90, "fills on both venues (entry and exit legs)")
        wait_for(
            lambda: any(e["kind"] == "reconcile" for e in decisions(repo)[-30:]),
            20,
            "a reconcile after the fills",
        )
    finally:
        stop_scheduler(proc)
    booked_fills = fills(repo)
    assert {e["artefacts"]["strategy"] for e in booked_fills} == {"cross_exchange"}
    for name, sim in (("binance", binance), ("bybit", bybit)):
        booked = [e["metadata"]["trade_id"] for e in booked_fills if e["artefacts"]["venue"] == name]
        venue_trades = sim_client(sim).fetch_my_trades("BTC/USDT", None, 1000)
        assert sorted(booked, key=int) == sorted((str(t["id"]) for t in venue_trades), key=int), name
        client_ids = sim_state(sim.url)["client_order_ids"]
        assert len(client_ids) == len(set(client_ids)), f"an order was sent twice to {name}"
    diffs = [
        e["metadata"]["detail"]
        for e in decisions(repo)
        if e["kind"] == "reconcile" and e["status"] != "clean"
    ]
    assert diffs == []  # the scheduler's own reconciliations agreed with both venues throughout
    reconciled = tradeops_cli(repo, env, "reconcile", "--environment", ENV_NAME, "--json")
    report = json.loads(reconciled.stdout)
    assert reconciled.returncode == 0 and report["clean"], report
