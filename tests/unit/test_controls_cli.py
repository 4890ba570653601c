"""The operator CLI groups in-process: kill-switch, strategy, smoke demo."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tradeops.cli.main import main

REPO = Path(__file__).resolve().parents[2]
OVERRIDE = Path("var/runtime/overrides/multi_strategy_disable.json")


@pytest.fixture(autouse=True)
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY", "cli-test-key")
    monkeypatch.delenv("TRADEOPS_DECISION_LOG_KEY_FILE", raising=False)
    return tmp_path


def out(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_kill_switch_disable_status_clear(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = out(
        capsys, "kill-switch", "disable", "--reason", "feed outage", "--ticket", "INC-42",
        "--requested-by", "l2-ops", "--positions", "reduce", "--keep-open-orders", "--duration-minutes", "15",
    )  # fmt: skip
    assert code == 0 and stdout.strip() == str(OVERRIDE)
    written = json.loads(OVERRIDE.read_text())
    assert written["on_disable"] == {"cancel_open_orders": False, "positions": "reduce"}

    code, stdout, _ = out(capsys, "kill-switch", "status")
    lines = stdout.splitlines()
    # No scheduler runs here: what was asked for is shown, never claimed as done.
    assert code == 3 and lines[0] == "no scheduler running"
    assert "requested: disabled" in lines[1]
    assert any("keep open orders; positions: reduce" in line for line in lines)

    code, stdout, _ = out(capsys, "kill-switch", "clear", "--reason", "feed back")
    assert code == 0 and "trading resumes" in stdout and not OVERRIDE.exists()
    code, stdout, _ = out(capsys, "kill-switch", "clear")
    assert code == 0 and "no override" in stdout
    code, stdout, _ = out(capsys, "kill-switch", "status", "--json")
    view = json.loads(stdout)
    assert code == 3 and view["status"] == "no scheduler running" and view["requested_status"] == "enabled"
    assert view["observed"] is None


def test_kill_switch_disable_to_an_output_dir(capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    code, stdout, _ = out(
        capsys, "kill-switch", "disable", "--reason", "r", "--ticket", "T", "--requested-by", "ops",
        "--component", "decision_orchestrator", "--output-dir", "elsewhere",
    )  # fmt: skip
    assert code == 0 and stdout.strip() == "elsewhere/decision_orchestrator_disable.json"
    assert not OVERRIDE.exists()


def test_strategy_group(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = out(
        capsys, "strategy", "disable", "volatility_target", "--reason", "vol feed", "--ticket", "INC-3",
        "--requested-by", "quant", "--duration-minutes", "60",
    )  # fmt: skip
    assert code == 0 and "risk_budget_bucket=manual" in stdout
    code, stdout, _ = out(capsys, "strategy", "list", "--json")
    row = next(r for r in json.loads(stdout) if r["schedule"] == "volatility_target")
    assert row["disabled"] and row["allocation"] == 0.0 and row["until"] is not None
    code, stdout, _ = out(capsys, "strategy", "list")
    assert "DISABLED: vol feed" in stdout

    code, _, stderr = out(capsys, "strategy", "disable", "grid_bot", "--reason", "r", "--ticket", "T")
    assert code == 2 and stderr.startswith("error: unknown strategy 'grid_bot'; valid: daily_trend")

    code, stdout, _ = out(
        capsys, "strategy", "enable", "volatility_target", "--reason", "ok", "--ticket", "INC-3"
    )
    assert code == 0 and "status=restored" in stdout
    code, stdout, _ = out(
        capsys, "strategy", "enable", "volatility_target", "--reason", "ok", "--ticket", "INC-3"
    )
    assert code == 0 and "nothing changed" in stdout


def test_smoke_demo_named_strategy_must_cycle(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = out(capsys, "smoke", "demo", "--cycles", "1", "--strategy", "daily_trend", "--json")
    assert code == 0 and json.loads(stdout)["strategies"]["daily_trend"]["cycles"] == 1

    out(capsys, "strategy", "disable", "daily_trend", "--reason", "drill", "--ticket", "CHG-1")
    code, stdout, _ = out(capsys, "smoke", "demo", "--cycles", "1", "--strategy", "daily_trend", "--json")
    result = json.loads(stdout)
    assert code == 1 and result["strategies"]["daily_trend"]["cycles"] == 0

    code, stdout, _ = out(capsys, "smoke", "demo", "--check-disabled")
    assert code == 3 and stdout.splitlines()[0] == "no scheduler running"
    assert "requested: enabled" in stdout
    assert any(line.startswith("strategy daily_trend disabled: drill") for line in stdout.splitlines())
