"""`tradeops adopt` against a running live scheduler trading the simulator: orders and a trade
placed on the account by another client are differences (the account reduces); adopting them,
signed with reason and ticket (and cancelling one with `tradeops reconcile --cancel-unknown`), makes
both reconciliations agree and the scheduler lifts the restriction. Nothing is booked as a fill;
refusals write nothing."""

from __future__ import annotations

import json

import pytest

from tests.integration.live import entries, wait_for
from tests.integration.live_sim import (
    ENV_NAME,
    decisions,
    fills,
    live_env,
    live_repo,
    sim_client,
    start_scheduler,
    stop_scheduler,
    tradeops_cli,
)

pytestmark = pytest.mark.timeout(240)


def _diff_keys(repo, env) -> tuple[int, set[tuple[str, str]]]:
    done = tradeops_cli(repo, env, "reconcile", "--environment", ENV_NAME, "--json")
    return done.returncode, {(r["kind"], r["key"]) for r in json.loads(done.stdout)["rows"]}


def _last_reconcile(repo) -> dict:
    return next(e for e in reversed(decisions(repo)) if e["kind"] == "reconcile")


def test_adopting_unknown_orders_and_balances_clears_the_difference_signed(tmp_path, sim):
    repo = live_repo(tmp_path / "repo", sim.url, reconcile_s=1.0)
    env = live_env(tmp_path, sim.api_key, sim.secret)
    proc = start_scheduler(repo, env, tmp_path / "sched.log")
    try:
        wait_for(lambda: len(fills(repo)) >= 1, 40, "the scheduler trading")
        client = sim_client(sim)
        price = client.fetch_ticker("BTC/USDT")["last"]
        client.create_order(
            "BTC/USDT", "limit", "buy", 0.001, round(price * 0.5, 2), {"clientOrderId": "manual-1"}
        )
        client.create_order(
            "BTC/USDT", "limit", "buy", 0.001, round(price * 0.5, 2), {"clientOrderId": "manual-3"}
        )
        client.create_order("BTC/USDT", "market", "buy", 0.002, None, {"clientOrderId": "manual-2"})
        wanted = {
            ("unknown_venue_order", "manual-1"),
            ("unknown_venue_order", "manual-3"),
            ("balance_mismatch", "binance:BTC"),
            ("balance_mismatch", "binance:USDT"),
        }
        wait_for(lambda: wanted <= _diff_keys(repo, env)[1], 20, "the differences listed")

        refused = tradeops_cli(
            repo, env, "adopt", "--environment", ENV_NAME, "--order", "manual-1", "--reason", "x"
        )
        assert refused.returncode != 0 and "--ticket" in refused.stderr and "Traceback" not in refused.stderr
        unknown = tradeops_cli(
            repo,
            env,
            "adopt",
            "--environment",
            ENV_NAME,
            "--order",
            "nope",
            "--reason",
            "x",
            "--ticket",
            "T-1",
        )
        assert unknown.returncode != 0 and "not a current unknown_venue_order" in unknown.stderr

        adopted = tradeops_cli(
            repo, env, "adopt", "--environment", ENV_NAME, "--order", "manual-1",
            "--reason", "desk order kept", "--ticket", "INC-7", "--requested-by", "itest", "--json",
        )  # fmt: skip
        assert adopted.returncode == 0, adopted.stderr
        assert json.loads(adopted.stdout)["kind"] == "order"
        cancelled = tradeops_cli(
            repo, env, "reconcile", "--environment", ENV_NAME, "--cancel-unknown", "manual-3",
            "--reason", "not ours to keep", "--ticket", "INC-7", "--requested-by", "itest",
        )  # fmt: skip
        assert cancelled.returncode == 0, cancelled.stderr
        assert cancelled.stdout.strip() == "cancelled at binance: manual-3"
        for asset in ("BTC", "USDT"):
            key = f"binance:{asset}"
            done = tradeops_cli(
                repo, env, "adopt", "--environment", ENV_NAME, "--balance", key,
                "--reason", "desk trade manual-2", "--ticket", "INC-7", "--requested-by", "itest",
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
        # The scheduler keeps trading meanwhile: a fill of its own can be at the venue a moment before
        # it is booked locally, so the table must come clean, not on the very first read.
        wait_for(lambda: _diff_keys(repo, env) == (0, set()), 20, "reconcile clean after the adoptions")
        wait_for(lambda: _last_reconcile(repo)["status"] == "clean", 20, "the scheduler reconciling clean")
        lifted = [
            e
            for e in decisions(repo)
            if e["kind"] == "trading_state" and e["metadata"]["reason"] == "reconcile clean"
        ]
        assert lifted, "the scheduler lifted the restriction it had set"
    finally:
        stop_scheduler(proc)
    ops = [e for e in entries(repo / "audit" / "decision_logs" / "stage4.jsonl") if e["kind"] == "reconcile"]
    assert [e["status"] for e in ops] == [
        "adopt_order",
        "cancel_unknown_order",
        "adopt_balance",
        "adopt_balance",
    ]
    assert all(e["metadata"]["ticket"] == "INC-7" and e["signature"]["value"] for e in ops)
    assert ops[0]["artefacts"]["key"] == "manual-1" and ops[1]["artefacts"]["client_order_id"] == "manual-3"
    assert ops[1]["metadata"]["requested_by"] == "itest" and ops[1]["artefacts"]["venue_order_id"]
    assert "manual-2" not in {e["artefacts"]["client_order_id"] for e in fills(repo)}  # no fill invented
    verified = tradeops_cli(repo, env, "decision-log", "verify", "audit/decision_logs/stage4.jsonl")
    assert verified.returncode == 0, verified.stdout + verified.stderr
