"""`tradeops strategy show NAME`: the CLI door of the `show` use case (the recipe's example), and
`run --disable-strategy` answering exactly like `strategy disable`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tradeops.cli.main import main

REPO = Path(__file__).resolve().parents[2]


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


def test_show_a_strategy_before_and_after_a_disable(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = out(capsys, "strategy", "show", "mean_reversion", "--json")
    before = json.loads(stdout)
    assert (
        code == 0 and before["disabled"] is False and before["allocation"] == before["configured_allocation"]
    )

    code, stdout, _ = out(
        capsys, "strategy", "disable", "mean_reversion", "--reason", "spread", "--ticket", "INC-4",
        "--requested-by", "l2-ops", "--duration-minutes", "30",
    )  # fmt: skip
    assert code == 0

    code, stdout, _ = out(capsys, "strategy", "show", "mean_reversion")
    lines = stdout.splitlines()
    assert code == 0 and lines[0].startswith("strategy mean_reversion: DISABLED: spread (until ")
    assert "bucket manual; allocation 0.0" in lines[1]
    assert lines[2].endswith("by l2-ops (ticket INC-4: spread)")

    code, stdout, _ = out(capsys, "strategy", "show", "mean_reversion", "--json")
    after = json.loads(stdout)
    assert (after["disabled"], after["risk_budget_bucket"], after["allocation"]) == (True, "manual", 0.0)


def test_show_an_unknown_strategy_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, stderr = out(capsys, "strategy", "show", "grid_bot")
    assert code == 2 and stdout == ""
    assert stderr.startswith("error: unknown strategy 'grid_bot'; valid: daily_trend")


def test_run_disable_strategy_prints_what_strategy_disable_prints(capsys: pytest.CaptureFixture[str]) -> None:
    code, via_run, _ = out(
        capsys, "run", "--disable-strategy", "daily_trend", "--reason", "drill", "--ticket", "CHG-1"
    )
    assert code == 0
    assert out(capsys, "strategy", "enable", "daily_trend", "--reason", "done", "--ticket", "CHG-1")[0] == 0
    code, via_strategy, _ = out(
        capsys, "strategy", "disable", "daily_trend", "--reason", "drill", "--ticket", "CHG-1"
    )
    assert code == 0 and via_run == via_strategy
    assert via_run.strip() == "strategy daily_trend disabled (risk_budget_bucket=manual, allocation 0): drill"
