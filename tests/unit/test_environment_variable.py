"""TRADEOPS_ENVIRONMENT names the environment for a shell (a simulator rehearsal, the testnet), so
the runbook commands run unchanged against it; an explicit --environment still wins. The offline
tools the runbooks call (paper smoke cycles, the scheduler load test) judge a live environment's
schedules on the paper venue: no keys, no venue, no order sent."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tradeops.cli.main import main

SIM_VARS = ("TRADEOPS_SIM_API_KEY", "TRADEOPS_SIM_SECRET", "TRADEOPS_SIM2_API_KEY", "TRADEOPS_SIM2_SECRET")


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree("config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    for var in SIM_VARS:
        monkeypatch.delenv(var, raising=False)  # nothing can reach a venue
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY", "unit-test-key-0123456789abcdef")
    return tmp_path


def test_the_variable_names_the_environment_and_the_flag_wins(workspace, capsys, monkeypatch):
    monkeypatch.setenv("TRADEOPS_ENVIRONMENT", "no_such_environment")
    assert main(["run", "--run-once"]) != 0
    err = capsys.readouterr().err  # one line naming where the name came from, no traceback
    assert err.strip() == (
        "error: --environment no_such_environment (from TRADEOPS_ENVIRONMENT): not in config; "
        "known: binance_paper, binance_testnet, binance_live, binance_sim"
    )
    assert main(["kill-switch", "status", "--environment", "typo"]) != 0  # typed: no variable named
    typed = capsys.readouterr().err
    assert "error: --environment typo: not in config/core.yaml; known: binance_paper" in typed
    monkeypatch.setenv("TRADEOPS_ENVIRONMENT", "binance_sim")
    assert main(["run", "--run-once"]) != 0  # binance_sim is live: it needs its keys, never paper
    assert "TRADEOPS_SIM_API_KEY is not set" in capsys.readouterr().err
    code = main(["run", "--environment", "binance_paper", "--bars", "300", "--state", "memory"])
    assert code == 0 and "binance_paper" in capsys.readouterr().out


def test_smoke_cycles_and_load_test_of_a_live_environment_run_offline(workspace, capsys, monkeypatch):
    monkeypatch.setenv("TRADEOPS_ENVIRONMENT", "binance_sim")
    assert main(["smoke", "demo", "--cycles", "1", "--strategy", "daily_trend", "--json"]) == 0
    smoke = json.loads(capsys.readouterr().out)
    assert smoke["environment"] == "binance_sim" and smoke["strategies"]["daily_trend"]["cycles"] == 1
    out = workspace / "load.json"
    assert main(["load-test", "run", "--iterations", "3", "--schedules", "2", "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["schedules"] == 2 and report["iterations"] == 3
