"""Run reports: the statistics, the warnings a quant needs (missing venue, gaps, stale bars) and the
charts' panels, on a real backtest of files through `tradeops run --data`."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradeops.cli.main import main
from tradeops.marketdata.export import write_candles
from tradeops.marketdata.synthetic import synthetic_market
from tradeops.ops.run_plots import PANEL_TITLES, equity_figure, strategy_figure
from tradeops.ops.run_stats import (
    curve_stats,
    drawdown_series,
    max_drawdown,
    sharpe,
    sortino,
    trade_stats,
)

REPO = Path(__file__).resolve().parents[2]
DAY_MS = 86_400_000


def test_trade_statistics_on_known_trades() -> None:
    stats = trade_stats([10.0, -5.0, 20.0, -5.0, 0.0])
    assert (stats.trades, stats.wins, stats.losses) == (5, 2, 2)
    assert stats.win_rate == pytest.approx(0.4) and stats.profit_factor == pytest.approx(3.0)
    assert stats.average_trade == pytest.approx(4.0)
    assert trade_stats([]).win_rate is None and trade_stats([1.0]).profit_factor is None


def test_curve_statistics_on_a_known_curve() -> None:
    times = [i * DAY_MS for i in range(5)]
    values = [0.0, 100.0, 50.0, 150.0, 120.0]
    stats = curve_stats(times, values, 1000.0, [False, True, True, True, False])
    assert stats.total_return == pytest.approx(0.12)
    assert stats.max_drawdown_ratio == pytest.approx(0.05)  # 100 -> 50 on 1000
    assert stats.exposure_ratio == pytest.approx(0.6)
    returns = [0.1, -0.05, 0.1, -0.03]
    mean, sd = np.mean(returns), np.std(returns, ddof=1)
    assert stats.sharpe == pytest.approx(mean / sd * math.sqrt(365))
    downside = math.sqrt((0.05**2 + 0.03**2) / 4)
    assert stats.sortino == pytest.approx(mean / downside * math.sqrt(365))
    assert curve_stats(times, [5.0] * 5, 1000.0).sharpe is None  # flat: not defined


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60), st.floats(1.0, 1e7))
def test_drawdown_is_never_negative_and_bounded_by_the_range(values: list[float], capital: float) -> None:
    worst = max_drawdown(values, capital)
    assert 0.0 <= worst <= (max(values) - min(values)) / capital + 1e-9
    series = drawdown_series(values, capital)
    assert all(d <= 0.0 for d in series) and series[0] == 0.0
    assert min(series) == pytest.approx(-worst, abs=1e-9)


@given(st.lists(st.floats(-0.1, 0.1), min_size=2, max_size=60))
def test_sharpe_and_sortino_share_the_sign_of_the_mean_return(returns: list[float]) -> None:
    mean = math.fsum(returns) / len(returns)
    for value in (sharpe(returns, 365.0), sortino(returns, 365.0)):
        if value is not None and abs(mean) > 1e-12:
            assert math.copysign(1.0, value) == math.copysign(1.0, mean)


# --- a backtest of files: binance only (cross_exchange has no second venue), a gap, stale bars --------


@pytest.fixture
def data_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY", "unit-test-key-0123456789")
    for series in synthetic_market(["BTC/USDT", "ETH/USDT", "SOL/USDT"], ["binance"], 900):
        if series.symbol == "BTC/USDT":
            volume = series.volume.copy()
            volume[700:705] = 0.0  # five bars with no trade: stale
            series = dataclasses.replace(series, volume=volume)
            keep = np.r_[0:600, 610 : len(series)]  # ten bars missing inside the window
            series = series.select(keep)
        write_candles(series, tmp_path / "data")
    assert main(["run", "--data", "data"]) == 0
    [directory] = (tmp_path / "var/runs").iterdir()
    return {
        "dir": directory,
        "summary": json.loads((directory / "summary.json").read_text()),
        "curves": json.loads((directory / "curves.json").read_text()),
    }


def test_a_data_run_names_what_it_could_not_do_and_the_gaps(data_run: dict) -> None:
    summary = data_run["summary"]
    assert summary["run"]["kind"] == "backtest" and summary["run"]["data_source"] == {
        "kind": "files",
        "path": "data",
    }
    warnings = summary["warnings"]
    assert any(w.startswith("cross_exchange: the data has no bybit BTC/USDT") for w in warnings), warnings
    assert "binance BTC/USDT: 1 gap(s) in the run window, 10 bar(s) missing" in warnings
    assert "binance BTC/USDT: 5 stale bar(s) (no volume) in the run window" in warnings
    [btc] = [q for q in summary["data_quality"] if q["symbol"] == "BTC/USDT"]
    [gap] = btc["gap_list"]
    assert gap["missing_bars"] == 10 and gap["after"] < gap["before"]
    assert all(q["gaps"] == 0 for q in summary["data_quality"] if q["symbol"] != "BTC/USDT")
    assert not (data_run["dir"] / "report.html").exists()  # drawn on demand
    assert main(["report", "run", "latest"]) == 0
    page = (data_run["dir"] / "report.html").read_text(encoding="utf-8")
    assert "cross_exchange: the data has no bybit BTC/USDT" in page and gap["after"] in page


def test_charts_have_the_pnl_and_drawdown_panels_on_a_dated_axis(data_run: dict) -> None:
    summary, curves = data_run["summary"], data_run["curves"]
    figures = [equity_figure(summary, curves)]
    figures += [strategy_figure(name, summary, curves) for name in summary["strategies"]]
    for figure in figures:
        top, bottom = figure.axes
        assert (top.get_label(), bottom.get_label()) == PANEL_TITLES
        assert top.get_lines() and bottom.collections  # curves drawn, drawdown filled
        figure.canvas.draw()
        ticks = [t.get_text() for t in bottom.get_xticklabels() if t.get_text()]
        assert ticks and all(t.startswith("2023-") for t in ticks)  # the year is on the axis
    lines = {line.get_label() for line in figures[0].axes[0].get_lines()}
    assert {"account", *summary["strategies"]} <= lines  # per-strategy contribution
    for figure in figures:
        plt.close(figure)
