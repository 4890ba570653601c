"""`tradeops run` / `tradeops demo`: the main job and its flags."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tradeops.cli.main import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    for name in ("TRADEOPS_DECISION_LOG_KEY_FILE", "TRADEOPS_DECISION_LOG_KEY_ID"):
        monkeypatch.delenv(name, raising=False)  # a paper run elsewhere in this process may have set them
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY", "unit-test-key-0123456789")
    return tmp_path


def test_demo_trades_every_strategy_and_writes_reports(workdir, capsys):
    assert main(["demo", "--bars", "3000"]) == 0
    summary = json.loads((workdir / "reports/demo/summary.json").read_text())
    assert set(summary["strategies"]) == {
        "daily_trend",
        "mean_reversion",
        "volatility_target",
        "cross_exchange",
    }
    assert all(row["fills"] > 0 for row in summary["strategies"].values())
    png = (workdir / "reports/demo/equity_curve.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    out = capsys.readouterr().out
    assert "per-strategy results" in out and "cross_exchange" in out


def test_run_once_on_synthetic_data_uses_the_state_store(workdir):
    assert main(["run", "--environment", "binance_paper", "--synthetic", "--bars", "400", "--run-once"]) == 0
    assert (workdir / "var/state/tradeops.sqlite").exists()
    assert (workdir / "audit/decision_logs/binance_paper.jsonl").exists()


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--run-once", "--run-forever"], "exclusive"),
        (["--speed", "10", "--replay-as-fast-as-possible"], "exclusive"),
        (["--from", "yesterday"], "--from"),
        (["--environment", "nope"], "--environment nope"),
        (["--strategy", "nope"], "--strategy nope"),
        (["--inject-faults", "errors=7"], "--inject-faults"),
    ],
)
def test_bad_flags_are_one_line_errors(workdir, capsys, argv, needle):
    assert main(["run", "--synthetic", "--bars", "300", *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
