"""The runbook commands as subprocesses, from a working copy that holds only config/."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DISABLE = [str(REPO / "scripts" / "disable_multi_strategy.py")]
SMOKE = [str(REPO / "scripts" / "smoke_demo_strategies.py")]
SCHEDULER = [str(REPO / "scripts" / "run_multi_strategy_scheduler.py")]
RUNBOOK_ARGS = ["--reason", "feed outage", "--ticket", "INC-42", "--requested-by", "l2-ops"]
OVERRIDE = Path("var/runtime/overrides/multi_strategy_disable.json")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    return tmp_path


def run(workdir: Path, command: list[str], *args: str, key: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEOPS_DECISION_LOG_KEY")}
    if key:
        env["TRADEOPS_DECISION_LOG_KEY"] = "integration-test-key"
        env["TRADEOPS_DECISION_LOG_KEY_ID"] = "integration"
    return subprocess.run(
        [sys.executable, *command, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=120
    )


def operations_log(workdir: Path) -> list[dict[str, object]]:
    path = workdir / "audit" / "decision_logs" / "stage4.jsonl"
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    return [entry for entry in entries if entry["kind"] != "log_genesis"]


def test_runbook_disable_writes_a_private_override_and_refuses_a_second(workdir: Path) -> None:
    first = run(workdir, DISABLE, *RUNBOOK_ARGS, "--component", "multi_strategy")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == str(OVERRIDE)
    path = workdir / OVERRIDE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    written = json.loads(path.read_text())
    assert {
        k: written[k] for k in ("schema", "schema_version", "action", "reason", "ticket", "requested_by")
    } == {
        "schema": "stage4.scheduler.override",
        "schema_version": "1.0",
        "action": "disable_multi_strategy",
        "reason": "feed outage",
        "ticket": "INC-42",
        "requested_by": "l2-ops",
    }
    assert len(written["timestamp"]) == 20 and written["timestamp"].endswith("Z")
    assert "expires_at" not in written
    [entry] = operations_log(workdir)
    assert (entry["kind"], entry["status"]) == ("override", "disabled") and entry["signature"]

    second = run(workdir, DISABLE, *RUNBOOK_ARGS)
    assert second.returncode == 1
    assert "already exists" in second.stderr and "--force" in second.stderr
    assert "Traceback" not in second.stderr
    assert json.loads(path.read_text()) == written
    assert len(operations_log(workdir)) == 1

    forced = run(workdir, DISABLE, *RUNBOOK_ARGS, "--force", "--duration-minutes", "30")
    assert forced.returncode == 0, forced.stderr
    replaced = json.loads(path.read_text())
    assert replaced["forced"] is True and replaced["expires_at"].endswith("Z")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--reason", "  ", "--ticket", "T", "--requested-by", "ops"], "reason"),
        ([*RUNBOOK_ARGS, "--output-dir", "link-to-elsewhere"], "symlink"),
        ([*RUNBOOK_ARGS, "--component", "web"], "web"),
    ],
)
def test_runbook_disable_errors_write_nothing(workdir: Path, extra: list[str], message: str) -> None:
    (workdir / "elsewhere").mkdir()
    (workdir / "link-to-elsewhere").symlink_to(workdir / "elsewhere", target_is_directory=True)
    result = run(workdir, DISABLE, *extra)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert not (workdir / "var" / "runtime").exists()
    assert list((workdir / "elsewhere").iterdir()) == []


def test_runbook_disable_works_without_a_configured_key_in_paper(workdir: Path) -> None:
    result = run(workdir, DISABLE, *RUNBOOK_ARGS, key=False)
    assert result.returncode == 0, result.stderr
    assert (workdir / OVERRIDE).exists()
    assert stat.S_IMODE((workdir / "var" / "secrets" / "decision_log.key").stat().st_mode) == 0o600


def test_check_disabled_follows_the_override_file(workdir: Path) -> None:
    """Without a running scheduler the requested state follows the file; the verdict never claims it."""
    before = run(workdir, SMOKE, "--check-disabled")
    assert before.returncode == 3, before.stderr
    assert before.stdout.splitlines()[:2] == [
        "no scheduler running",
        "requested: enabled (override files and strategy status in the store)",
    ]

    assert run(workdir, DISABLE, *RUNBOOK_ARGS).returncode == 0
    during = run(workdir, SMOKE, "--check-disabled")
    lines = during.stdout.splitlines()
    assert (
        during.returncode == 3
        and lines[0] == "no scheduler running"
        and lines[1].startswith("requested: disabled")
    )
    assert any("feed outage" in line and "INC-42" in line and "l2-ops" in line for line in lines)
    as_json = json.loads(run(workdir, SMOKE, "--check-disabled", "--json").stdout)
    assert as_json["requested_status"] == "disabled" and as_json["override"]["reason"] == "feed outage"

    (workdir / OVERRIDE).unlink()  # the runbook's `rm`
    after = run(workdir, SMOKE, "--check-disabled")
    assert after.returncode == 3 and after.stdout.splitlines()[1].startswith("requested: enabled")


def test_disabled_strategy_is_reported_with_reason_and_requester(workdir: Path) -> None:
    disabled = run(
        workdir,
        SCHEDULER,
        "--disable-strategy",
        "cross_exchange",
        "--reason",
        "spread feed",
        "--ticket",
        "INC-9",
    )
    assert disabled.returncode == 0, disabled.stderr
    status = json.loads(run(workdir, SMOKE, "--check-disabled", "--json").stdout)
    assert status["requested_status"] == "enabled" and status["status"] == "no scheduler running"
    [shown] = status["disabled_strategies"]
    assert (shown["strategy"], shown["reason"], shown["ticket"]) == ("cross_exchange", "spread feed", "INC-9")
    entry = operations_log(workdir)[-1]
    assert entry["status"] == "disabled" and entry["metadata"]["risk_budget_bucket"] == "manual"  # type: ignore[index]

    unknown = run(workdir, SCHEDULER, "--disable-strategy", "grid_bot")
    assert unknown.returncode == 2 and "daily_trend" in unknown.stderr and "cross_exchange" in unknown.stderr

    enabled = run(
        workdir, SCHEDULER, "--enable-strategy", "cross_exchange", "--reason", "fixed", "--ticket", "INC-9"
    )
    assert enabled.returncode == 0, enabled.stderr
    assert operations_log(workdir)[-1]["status"] == "restored"
    assert json.loads(run(workdir, SMOKE, "--check-disabled", "--json").stdout)["disabled_strategies"] == []
