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
    captured = capsys.readouterr()
    assert "per-strategy results" in captured.out and "cross_exchange" in captured.out
    run_id = summary["run"]["run_id"]
    assert f"report.html): tradeops report run {run_id}" in captured.err
    for directory in (workdir / "var/runs" / run_id, workdir / "reports/demo"):  # the run draws no chart
        assert sorted(p.name for p in directory.iterdir() if p.suffix in {".json", ".png", ".html"}) == [
            "curves.json",
            "summary.json",
        ]
    check_run_report(workdir, summary, capsys)


def check_run_report(workdir: Path, summary: dict, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo's run report: metadata, statistics, and on demand PNGs that open and a
    self-contained page, beside the run's summary, elsewhere, and in the --report-dir copy."""
    from PIL import Image

    from tradeops.ops.run_plots import DPI, FIGSIZE

    run = summary["run"]
    assert main(["report", "run", run["run_id"]]) == 0
    assert run["kind"] == "backtest" and run["data_source"] == {"kind": "synthetic", "seed": 7, "bars": 3000}
    assert run["bars"] == 3000 * len(run["instruments"]) and run["steps"] > 0
    assert run["config_sha256"] and run["data_sha256"].startswith("sha256:")
    assert run["window"]["start"] < run["window"]["end"] and run["version"]
    directory = workdir / "var/runs" / run["run_id"]
    assert json.loads((directory / "summary.json").read_text()) == summary  # the run keeps its own copy
    for row in summary["strategies"].values():
        for key in ("trades", "win_rate", "profit_factor", "sharpe", "sortino", "max_drawdown_ratio"):
            assert key in row
        assert row["trades"] > 0 and 0 <= row["win_rate"] <= 1 and row["max_drawdown_ratio"] >= 0
        assert 0 <= row["exposure_ratio"] <= 1
    assert summary["data_quality"] and all(q["gaps"] == 0 for q in summary["data_quality"])
    names = ["equity.png", *(f"strategy_{n}.png" for n in summary["strategies"])]
    for name in names:
        with Image.open(directory / name) as image:
            assert image.format == "PNG" and image.size == (FIGSIZE[0] * DPI, FIGSIZE[1] * DPI)
            assert len(set(image.convert("L").getdata())) > 10  # drawn, not blank
    page = (directory / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == len(names)
    assert "<script" not in page and "http://" not in page and "https://" not in page  # no CDN, no fetch
    for section in ("<h2>Run</h2>", "<h2>Strategies</h2>", "<h2>Warnings</h2>", "<h2>Data quality"):
        assert section in page
    assert run["run_id"] in page and run["data_sha256"] in page
    # The same report again from the recorded run, by id and as `latest`, elsewhere.
    assert main(["report", "run", "latest", "--html", "elsewhere/r.html", "--png", "elsewhere/png"]) == 0
    out = capsys.readouterr().out
    assert "per-strategy statistics" in out and run["run_id"] in out
    assert (workdir / "elsewhere/r.html").read_text(encoding="utf-8").count("data:image/png") == len(names)
    assert sorted(p.name for p in (workdir / "elsewhere/png").iterdir()) == sorted(names)
    assert main(["report", "run", "reports/demo"]) == 0  # the --report-dir copy, charts beside it
    assert run["run_id"] in capsys.readouterr().out
    copy = (workdir / "reports/demo/report.html").read_text(encoding="utf-8")
    assert copy.count("data:image/png;base64,") == len(names) and run["run_id"] in copy
    assert all((workdir / "reports/demo" / name).is_file() for name in names)
    assert main(["report", "run", run["run_id"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["run"]["run_id"] == run["run_id"]
    assert main(["report", "run", "no-such-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "run no-such-run" in err[0] and run["run_id"] in err[0]


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
