"""`tradeops config apply` against a real `tradeops run --run-forever` scheduler: a live change takes
effect without a restart, a change that needs a restart, an invalid file and a tampered handoff are
refused and leave the running configuration untouched, and `--from-git` restores a commit."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.integration.live import TRADEOPS, Scheduler, entries, run, scratch_repo, signing_env, wait_for

pytestmark = pytest.mark.slow
ALLOCATION = "tradeops_strategy_configured_allocation_ratio"


def _gauge(port: int, name: str, strategy: str) -> float | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + "{") and f'strategy="{strategy}"' in line:
                return float(line.rsplit(" ", 1)[1])
    return None


def _answer(handoff: Path) -> dict:
    try:
        return json.loads((handoff / "result.json").read_text())
    except (OSError, ValueError):
        return {}


def _git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "ops", "GIT_AUTHOR_EMAIL": "o@x.invalid"}
    env |= {"GIT_COMMITTER_NAME": "ops", "GIT_COMMITTER_EMAIL": "o@x.invalid"}
    return subprocess.run(
        ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True
    ).stdout


def _apply(root: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return run([str(TRADEOPS), "config", "apply", "--reason", "test", "--ticket", "INC-7", *extra], root, env)


def test_apply_reaches_the_running_scheduler_and_refusals_leave_it_untouched(tmp_path: Path) -> None:
    root = scratch_repo(tmp_path / "repo")
    env = signing_env(tmp_path)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "config")
    _git(root, "commit", "-q", "-m", "baseline")
    baseline = _git(root, "rev-parse", "HEAD").strip()
    port = free_port()
    config = root / "config" / "core.yaml"
    running = root / "var" / "runtime" / "config" / "binance_paper" / "running.yaml"
    ops_log = root / "audit" / "decision_logs" / "stage4.jsonl"
    scheduler = Scheduler(root, env, extra=["--metrics-port", str(port)])
    try:
        wait_for(lambda: running.exists() and len(scheduler.orders()) >= 1, 60, "the scheduler to run")
        assert _gauge(port, ALLOCATION, "cross_exchange") == 0.15

        # A live change: allocation and a limit, committed; the scheduler applies and confirms.
        text = config.read_text()
        config.write_text(
            text.replace("      cross_exchange: 0.15", "      cross_exchange: 0.0", 1).replace(
                "max_daily_loss_pct: 0.015", "max_daily_loss_pct: 0.012", 1
            )
        )
        _git(root, "commit", "-qam", "INC-7: cross_exchange 0.0")
        head = _git(root, "rev-parse", "HEAD").strip()
        done = _apply(root, env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "applied by the running scheduler" in done.stdout
        assert "strategy_allocations.cross_exchange: 0.15 -> 0.0" in done.stdout
        assert _gauge(port, ALLOCATION, "cross_exchange") == 0.0
        assert _gauge(port, "tradeops_strategy_max_daily_loss_ratio", "cross_exchange") == 0.012
        assert running.read_bytes() == config.read_bytes()
        logged = [e for e in entries(ops_log) if e["kind"] == "config_change"]
        assert [e["status"] for e in logged] == ["requested", "applied"]
        assert logged[0]["artefacts"]["git_commit"] == head
        assert logged[0]["artefacts"]["config_sha384"] == logged[1]["artefacts"]["config_sha384"]
        assert logged[1]["metadata"]["detected_by"] == "scheduler"

        # Needs a restart (a venue's fee and a new allocation together): refused whole.
        applied = running.read_bytes()
        config.write_text(
            config.read_text()
            .replace("maker_fee: 0.0002", "maker_fee: 0.0003", 1)
            .replace("      cross_exchange: 0.0", "      cross_exchange: 0.05", 1)
        )
        refused = _apply(root, env)
        assert refused.returncode == 1
        assert "maker_fee: cannot change while the scheduler runs" in refused.stderr
        assert running.read_bytes() == applied and _gauge(port, ALLOCATION, "cross_exchange") == 0.0

        # An invalid file: every problem with file:line, nothing recorded.
        before = len(entries(ops_log))
        config.write_text(text.replace("max_open_positions: 8", "max_open_positions: -1", 1) + "bogus: 1\n")
        invalid = _apply(root, env)
        assert invalid.returncode == 1
        problems = [line for line in invalid.stderr.splitlines() if line.startswith("config/core.yaml:")]
        assert len(problems) >= 2, invalid.stderr
        assert len(entries(ops_log)) == before

        # A handoff whose text changed after the manifest was written: refused, logged, untouched.
        handoff = running.parent
        tampered = text.replace("      cross_exchange: 0.15", "      cross_exchange: 0.5", 1).encode()
        (handoff / "pending.yaml").write_bytes(tampered)
        (handoff / "pending.json").write_text(
            json.dumps({"schema": "tradeops.config_handoff", "request_id": "r-1", "sha384": "sha384:00"})
        )
        wait_for(lambda: _answer(handoff).get("request_id") == "r-1", 10, "the scheduler to answer")
        answer = _answer(handoff)
        assert not (handoff / "pending.json").exists()
        assert answer["request_id"] == "r-1" and answer["status"] == "refused"
        assert "differs from the manifest" in answer["problems"][0]
        assert entries(ops_log)[-1]["status"] == "refused"
        assert running.read_bytes() == applied and _gauge(port, ALLOCATION, "cross_exchange") == 0.0

        # Back to baseline from Git in one step.
        restored = _apply(root, env, "--from-git", baseline)
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert config.read_text() == text
        assert _gauge(port, ALLOCATION, "cross_exchange") == 0.15
        bad_ref = _apply(root, env, "--from-git", "--help")
        assert bad_ref.returncode == 2 and "not a commit name" in bad_ref.stderr
    finally:
        assert scheduler.stop() == 0

    # No scheduler running: recorded, applies at the next start.
    offline = _apply(root, env, "--from-git", head)
    assert offline.returncode == 0 and "applies at the next start" in offline.stdout
    assert entries(ops_log)[-1]["status"] == "recorded"
