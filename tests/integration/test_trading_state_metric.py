"""Issue 13, done-when: while the kill switch is on, a running scheduler's metrics read `halted`.

The kill switch and the engine used to write the account's trading state separately, and the
engine's figures won: `tradeops_trading_state{state="active"}` read 1 while trading was halted.
Here a real `--run-forever` scheduler is halted with the runbook's command and scraped over HTTP.
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import free_port
from tests.integration.live import Scheduler, entries, run, scratch_repo, script, signing_env, wait_for

pytestmark = pytest.mark.slow


def scrape(port: int) -> list[str]:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text.splitlines()
    except httpx.HTTPError:
        return []


def trading_state(port: int) -> dict[str, float]:
    """`tradeops_trading_state` by its `state` label, from the scheduler's metrics endpoint."""
    out = {}
    for line in scrape(port):
        if line.startswith("tradeops_trading_state{"):
            labels, value = line.rsplit(" ", 1)
            out[labels.split('state="', 1)[1].split('"', 1)[0]] = float(value)
    return out


def market_time(port: int) -> float:
    """The market time of the scheduler's last step (it goes on stepping while halted)."""
    for line in scrape(port):
        if line.startswith("tradeops_last_cycle_market_time_seconds "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_the_trading_state_metric_reads_halted_while_the_kill_switch_is_on(tmp_path):
    cwd = scratch_repo(tmp_path)
    env = signing_env(tmp_path)
    port = free_port()
    scheduler = Scheduler(cwd, env, extra=["--metrics-port", str(port)])
    try:
        wait_for(lambda: len(scheduler.orders()) >= 2, 90, "the scheduler to trade")
        assert trading_state(port) == {"active": 1.0, "reducing": 0.0, "halted": 0.0}
        done = run(
            [
                *script("disable_multi_strategy"),
                "--reason",
                "metric check",
                "--ticket",
                "INC-13",
                "--requested-by",
                "l2-ops",
            ],
            cwd,
            env,
        )
        assert done.returncode == 0, done.stderr
        log = scheduler.runtime_log
        wait_for(
            lambda: any(e["kind"] == "trading_state" and e["status"] == "halted" for e in entries(log)),
            30,
            "the halt in the runtime log",
        )
        wait_for(lambda: trading_state(port).get("halted") == 1.0, 10, "the metric to read halted")
        assert trading_state(port) == {"active": 0.0, "reducing": 0.0, "halted": 1.0}
        # Steps go on while halted (the figures are republished every 0.2 s): the state stays halted.
        halted_at = market_time(port)
        wait_for(lambda: market_time(port) > halted_at + 3600, 30, "the halted scheduler to step on")
        assert trading_state(port) == {"active": 0.0, "reducing": 0.0, "halted": 1.0}
        (cwd / "var" / "runtime" / "overrides" / "multi_strategy_disable.json").unlink()
        wait_for(lambda: trading_state(port).get("active") == 1.0, 30, "the metric to read active again")
    finally:
        assert scheduler.stop() == 0
