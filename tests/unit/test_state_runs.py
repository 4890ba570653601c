"""Runs and their stores: backtests never touch the account; an account resumes after its cursor."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tradeops.bootstrap.engine import RunOptions, build_runtime
from tradeops.cli.main import main

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = ["run", "--environment", "binance_paper", "--synthetic", "--bars", "900"]
WINDOW = ["--from", "2023-11-14T22:00:00Z", "--to", "2023-11-16T12:00:00Z"]
STORE = Path("var/state/tradeops.sqlite")
LOG = Path("audit/decision_logs/binance_paper.jsonl")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    for name in ("TRADEOPS_DECISION_LOG_KEY_FILE", "TRADEOPS_DECISION_LOG_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY", "unit-test-key-0123456789")
    return tmp_path


def _digest(root: Path) -> dict[str, str]:
    files = [p for p in sorted(root.glob("var/state/*")) if p.is_file()]
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _entries(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_backtest_leaves_the_account_store_byte_identical_and_repeats_exactly(workdir, capsys):
    assert main([*ACCOUNT, "--run-once"]) == 0
    account = _digest(workdir)
    account_log = (workdir / LOG).read_bytes()
    capsys.readouterr()
    summaries = []
    for _ in range(2):
        assert main([*ACCOUNT, *WINDOW]) == 0
        captured = capsys.readouterr()
        summaries.append(captured.out)
        assert "(backtest): state var/runs/" in captured.err
    assert _digest(workdir) == account
    assert (workdir / LOG).read_bytes() == account_log
    assert summaries[0] == summaries[1]
    assert "(start 100,000.00)" in summaries[0]
    runs = sorted((workdir / "var/runs").iterdir())
    assert len(runs) == 2
    for run in runs:
        kinds = [
            e["artefacts"]["run_kind"] for e in _entries(run / "state.decisions.jsonl") if e["kind"] == "run"
        ]
        assert kinds == ["backtest"]


def _account_run(max_steps: int | None) -> tuple[int, int]:
    """Run the account for `max_steps` steps (None: to the end); return (first, last) step."""
    runtime = build_runtime(RunOptions(synthetic_bars=900, kill_switch=False))
    steps: list[int] = []
    runtime.scheduler.on_step = lambda now_ms, _report: steps.append(now_ms)
    try:
        report = asyncio.run(runtime.scheduler.run(max_steps=max_steps))
        return steps[0], report.last_step_ms or 0
    finally:
        runtime.close()


def test_an_account_resumes_after_its_cursor_with_ids_continued(workdir, capsys):
    _, stopped = _account_run(450)
    entries = _entries(workdir / LOG)
    acks = [
        e["artefacts"]["order_id"] for e in entries if e["kind"] == "order" and e["status"] == "submitted"
    ]
    resumed_at, _ = _account_run(None)
    assert stopped < resumed_at <= stopped + 300_000  # the next bar after the cursor, not the start
    assert "resumes after" in capsys.readouterr().err
    entries = _entries(workdir / LOG)
    steps = [e["metadata"]["step_ms"] for e in entries if "step_ms" in e["metadata"]]
    distinct = [s for i, s in enumerate(steps) if i == 0 or s != steps[i - 1]]
    assert distinct == sorted(set(distinct))  # no step (and so no bar) twice across the restart
    ids = [e["artefacts"]["client_order_id"] for e in entries if e["kind"] == "risk_decision"]
    all_acks = [
        e["artefacts"]["order_id"] for e in entries if e["kind"] == "order" and e["status"] == "submitted"
    ]
    assert len(ids) == len(set(ids)) and len(all_acks) == len(set(all_acks)) > len(acks) > 0
    runs = [e["status"] for e in entries if e["kind"] == "run"]
    assert runs == ["started", "resumed"]


def test_an_account_whose_data_ended_says_so_and_stops(workdir, capsys):
    def trading(entries: list[dict]) -> list[dict]:
        return [e for e in entries if e["kind"] in ("signal", "risk_decision", "order", "fill")]

    assert main([*ACCOUNT]) == 0
    capsys.readouterr()
    before = trading(_entries(workdir / LOG))
    assert main([*ACCOUNT]) == 0
    err = capsys.readouterr().err
    assert "data ends at" in err and "nothing to replay" in err
    assert main([*ACCOUNT, "--run-once"]) == 0
    assert "stopping (--run-once)" in capsys.readouterr().err
    assert trading(_entries(workdir / LOG)) == before  # no wrap-around: nothing traded again


def test_a_different_market_for_the_same_account_is_refused(workdir, capsys):
    assert main([*ACCOUNT, "--run-once"]) == 0
    capsys.readouterr()
    assert main(["run", "--environment", "binance_paper", "--synthetic", "--bars", "1000", "--run-once"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bars=900" in err and "--state NEW.sqlite" in err
