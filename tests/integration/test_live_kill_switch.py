"""Issue 4, done-when: a real --run-forever scheduler obeys the runbook commands."""

from __future__ import annotations

import json
import stat
import time

import pytest

from tests.integration.live import Scheduler, entries, run, scratch_repo, script, signing_env, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def live(tmp_path):
    cwd = scratch_repo(tmp_path)
    env = signing_env(tmp_path)
    scheduler = Scheduler(cwd, env)
    try:
        wait_for(lambda: len(scheduler.orders()) >= 3, 60, "the scheduler to trade")
        yield cwd, env, scheduler
    finally:
        assert scheduler.stop() == 0  # SIGTERM is a clean shutdown


def _ops_log(cwd):
    return entries(cwd / "audit" / "decision_logs" / "stage4.jsonl")


def test_global_override_stops_orders_and_rm_resumes_them(live):
    cwd, env, scheduler = live
    done = run(
        [
            *script("disable_multi_strategy"),
            "--reason",
            "feed outage",
            "--ticket",
            "INC-42",
            "--requested-by",
            "l2-ops",
            "--component",
            "multi_strategy",
        ],
        cwd,
        env,
    )
    assert done.returncode == 0, done.stderr
    override = cwd / "var" / "runtime" / "overrides" / "multi_strategy_disable.json"
    assert stat.S_IMODE(override.stat().st_mode) == 0o600
    assert json.loads(override.read_text())["ticket"] == "INC-42"
    # The runtime notices, records the halt, and no order goes out after it.
    wait_for(
        lambda: any(
            e["kind"] == "trading_state" and e["status"] == "halted" for e in entries(scheduler.runtime_log)
        ),
        10,
        "the halt in the runtime log",
    )
    halted_at = len(entries(scheduler.runtime_log))
    time.sleep(2.0)  # at --speed 3000 that is 100 simulated minutes of signals
    later = entries(scheduler.runtime_log)[halted_at:]
    assert not [e for e in later if e["kind"] == "order" and e["status"] == "submitted"]
    probe = run([*script("smoke_demo_strategies"), "--check-disabled"], cwd, env)
    assert probe.returncode == 0 and probe.stdout.splitlines()[0] == "disabled"
    # A second disable refuses to overwrite.
    again = run(
        [*script("disable_multi_strategy"), "--reason", "x", "--ticket", "INC-43", "--requested-by", "l2"],
        cwd,
        env,
    )
    assert again.returncode == 1
    # rm re-enables: status enabled, trading resumes, and the removal is logged once.
    override.unlink()
    probe = run([*script("smoke_demo_strategies"), "--check-disabled"], cwd, env)
    assert probe.stdout.splitlines()[0] == "enabled"
    before = len(scheduler.orders())
    wait_for(lambda: len(scheduler.orders()) > before, 30, "orders after the override was removed")
    wait_for(
        lambda: any(e["kind"] == "override" and e["status"] == "enabled" for e in _ops_log(cwd)),
        10,
        "the removal in the operations log",
    )
    statuses = [e["status"] for e in _ops_log(cwd) if e["kind"] == "override"]
    assert statuses == ["disabled", "enabled"]
    assert all(e["signature"]["value"] for e in _ops_log(cwd))


def test_disable_strategy_reaches_the_running_scheduler(live):
    cwd, env, scheduler = live
    done = run(
        [
            *script("run_multi_strategy_scheduler"),
            "--disable-strategy",
            "mean_reversion",
            "--reason",
            "PnL divergence",
            "--ticket",
            "INC-7",
        ],
        cwd,
        env,
    )
    assert done.returncode == 0, done.stderr
    entry = next(e for e in _ops_log(cwd) if e["kind"] == "strategy_state")
    assert entry["status"] == "disabled"
    assert entry["metadata"]["risk_budget_bucket"] == "manual"
    assert entry["artefacts"] == {"strategy": "mean_reversion", "ticket": "INC-7"}
    time.sleep(1.0)  # the kill switch re-reads statuses within its poll interval
    mark = len(scheduler.orders("mean_reversion"))
    others = len(scheduler.orders()) - mark
    time.sleep(2.0)
    assert len(scheduler.orders("mean_reversion")) == mark
    assert len(scheduler.orders()) - len(scheduler.orders("mean_reversion")) >= others  # the rest go on
    unknown = run([*script("run_multi_strategy_scheduler"), "--disable-strategy", "nope"], cwd, env)
    assert unknown.returncode == 2 and "daily_trend" in unknown.stderr
    enabled = run(
        [
            *script("run_multi_strategy_scheduler"),
            "--enable-strategy",
            "mean_reversion",
            "--reason",
            "fixed",
            "--ticket",
            "INC-7",
        ],
        cwd,
        env,
    )
    assert enabled.returncode == 0
    assert [e["status"] for e in _ops_log(cwd) if e["kind"] == "strategy_state"] == ["disabled", "restored"]
