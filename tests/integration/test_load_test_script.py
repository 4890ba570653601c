"""The runbook's load-test commands, verbatim, through scripts/load_test_scheduler.py in a temporary
copy of config/ (the repository's own logs/ and var/ are never touched)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tradeops.config.load import load_config
from tradeops.domain.trading import StrategyStatus
from tradeops.persistence.sql_store import open_state_store

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "load_test_scheduler.py"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    return tmp_path


def run(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEOPS_DECISION_LOG")}
    env["TRADEOPS_DECISION_LOG_KEY"] = secrets.token_hex(32)
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def set_disabled(workdir: Path, schedule: str, disabled: bool) -> None:
    cfg = load_config(workdir / "config" / "core.yaml")
    env = cfg.environments["binance_paper"]
    store = open_state_store(env.model_copy(update={"state_path": str(workdir / env.state_path)}))
    try:
        store.set_strategy_status(
            StrategyStatus(schedule, disabled=disabled, reason="runbook test", changed_ms=1)
        )
    finally:
        store.close()


@pytest.mark.slow
def test_runbook_commands_verbatim(workdir: Path) -> None:
    pre = run(
        workdir, "--iterations", "10", "--schedules", "3", "--output", "logs/load_tests/pre_rollback.json"
    )
    assert pre.returncode == 0, pre.stderr
    pre_doc = json.loads((workdir / "logs/load_tests/pre_rollback.json").read_text())
    assert pre_doc == json.loads(pre.stdout)
    assert (pre_doc["schedules"], pre_doc["iterations"]) == (3, 10)
    assert pre_doc["resource_status"] == "ok", pre_doc["resource_usage"]
    assert pre_doc["resource_limits"]["cpu_percent"] == 65.0  # the shipped limits, not invented ones

    set_disabled(workdir, "mean_reversion", True)  # step 3 of the runbook: the rollback
    post = run(
        workdir, "--iterations", "10", "--schedules", "2", "--output", "logs/load_tests/post_rollback.json"
    )
    assert post.returncode == 0, post.stderr
    post_doc = json.loads((workdir / "logs/load_tests/post_rollback.json").read_text())
    assert post_doc["schedules"] == 2
    assert post_doc["disabled_schedules"] == ["mean_reversion"]
    assert post_doc["per_schedule"]["mean_reversion"]["cycles"] == 0
    assert post_doc["per_schedule"]["daily_trend"]["cycles"] == 10

    compare = subprocess.run(
        [sys.executable, "-m", "tradeops.cli.main", "load-test", "compare",
         "logs/load_tests/pre_rollback.json", "logs/load_tests/post_rollback.json", "--html", "compare.html"],
        cwd=workdir, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert compare.returncode == 0, compare.stderr
    assert "mean_reversion" in compare.stdout
    assert (workdir / "compare.html").read_text().count("<svg") >= 4

    set_disabled(workdir, "mean_reversion", False)  # restore, then the bare command
    bare = run(workdir)
    assert bare.returncode == 0, bare.stderr
    latest = json.loads((workdir / "logs/load_tests/latest.json").read_text())
    assert latest["resource_status"] == "ok"
    assert latest["disabled_schedules"] == []
    assert (latest["schedules"], latest["iterations"]) == (3, 10)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--iterations", "0"], "--iterations 0"),
        (["--schedules", "0"], "--schedules 0"),
        (["--config", "nowhere/core.yaml"], "--config nowhere/core.yaml"),
        (["--environment", "nowhere"], "--environment nowhere"),
        (["--data", "missing_dir"], "--data missing_dir"),
    ],
)
def test_bad_flags_exit_2_with_one_line(workdir: Path, args: list[str], needle: str) -> None:
    result = run(workdir, *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0]
    assert result.stdout == ""
    assert not (workdir / "logs").exists()


def test_unknown_flag_is_a_usage_error(workdir: Path) -> None:
    result = run(workdir, "--iterations", "ten")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
