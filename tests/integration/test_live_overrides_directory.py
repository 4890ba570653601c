"""Issue 14: the overrides directory is safety state. A real --run-forever scheduler halts when the
directory is removed (even with an override active: that used to resume trading), replaced by a
symlink, or its permissions widen; the reason reaches the operations log and the metrics, and
trading resumes once the directory is sane again."""

from __future__ import annotations

import os
import shutil
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.integration.live import Scheduler, entries, run, scratch_repo, script, signing_env, wait_for

pytestmark = pytest.mark.slow


def _halts(scheduler: Scheduler) -> int:
    return sum(
        1 for e in entries(scheduler.runtime_log) if e["kind"] == "trading_state" and e["status"] == "halted"
    )


def _malformed_events(cwd: Path) -> list[str]:
    log = cwd / "audit" / "decision_logs" / "stage4.jsonl"
    return [
        str(e["metadata"].get("problem", ""))
        for e in entries(log)
        if e["kind"] == "override" and e["status"] == "malformed"
    ]


def _metric(port: int, name: str) -> float | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith((name + " ", name + "{")):
                return float(line.rsplit(" ", 1)[1])
    return None


def _assert_halted(scheduler: Scheduler, cwd: Path, halts_before: int, problem: str, port: int) -> None:
    wait_for(lambda: _halts(scheduler) > halts_before, 15, f"a halt after: {problem}")
    wait_for(lambda: any(problem in p for p in _malformed_events(cwd)), 15, f"the log entry for: {problem}")
    wait_for(lambda: _metric(port, "tradeops_override_malformed") == 1.0, 15, "tradeops_override_malformed 1")
    submitted = len(scheduler.orders())
    time.sleep(1.0)  # at --speed 3000, 50 simulated minutes of signals
    assert len(scheduler.orders()) == submitted, f"orders went out while halted ({problem})"


def _assert_resumes(scheduler: Scheduler) -> None:
    before = len(scheduler.orders())
    wait_for(lambda: len(scheduler.orders()) > before, 30, "orders after the directory was restored")


def test_directory_removal_symlink_and_chmod_halt_a_running_scheduler(tmp_path: Path) -> None:
    cwd = scratch_repo(tmp_path)
    env = signing_env(tmp_path)
    port = free_port()
    scheduler = Scheduler(cwd, env, extra=["--metrics-port", str(port)])
    overrides = cwd / "var" / "runtime" / "overrides"
    try:
        wait_for(lambda: len(scheduler.orders()) >= 3, 60, "the scheduler to trade")
        assert overrides.is_dir() and (overrides.stat().st_mode & 0o777) == 0o700  # armed at start
        disable = [*script("disable_multi_strategy"), "--reason", "feed outage", "--ticket", "INC-1"]
        assert run([*disable, "--requested-by", "l2"], cwd, env).returncode == 0
        wait_for(lambda: _halts(scheduler) >= 1, 15, "the override to halt trading")

        # rm -rf with an override active: still halted, and logged as such (was: trading resumed).
        halts = _halts(scheduler)
        shutil.rmtree(overrides)
        wait_for(lambda: any("removed while running" in p for p in _malformed_events(cwd)), 15, "rm -rf")
        submitted = len(scheduler.orders())
        time.sleep(1.0)
        assert len(scheduler.orders()) == submitted, "rm -rf of the overrides directory resumed trading"
        assert _metric(port, "tradeops_override_malformed") == 1.0
        overrides.mkdir(mode=0o700)
        _assert_resumes(scheduler)

        # Replaced by a symlink to a directory that holds no override.
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir(mode=0o700)
        halts = _halts(scheduler)
        overrides.rmdir()
        overrides.symlink_to(elsewhere, target_is_directory=True)
        _assert_halted(scheduler, cwd, halts, "is a symlink", port)
        overrides.unlink()
        overrides.mkdir(mode=0o700)
        _assert_resumes(scheduler)
        assert _metric(port, "tradeops_override_malformed") == 0.0

        # Permissions widened while running.
        halts = _halts(scheduler)
        os.chmod(overrides, 0o755)
        _assert_halted(scheduler, cwd, halts, "permissions widened while running", port)
        os.chmod(overrides, 0o700)
        _assert_resumes(scheduler)
    finally:
        assert scheduler.stop() == 0, (cwd / "scheduler.out").read_text()[-2000:]
