"""The run report's charts (matplotlib, Agg backend, PNG), drawn from summary.json and curves.json.

`equity_figure`: top panel the account's PnL with each strategy's contribution (PnL since the start,
in the quote asset); bottom panel the account drawdown from its running peak (% of the starting
equity). `strategy_figure`: one strategy's PnL, and its drawdown as % of its allocated capital.
Both have a dated axis (year included) in market time.
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from tradeops.ops.run_stats import drawdown_series

FIGSIZE = (11.0, 6.5)
DPI = 100
COLOURS = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#0969da", "#bf3989")
PANEL_TITLES = ("pnl", "drawdown")


def _dates(curves: dict[str, Any]) -> Any:
    return mdates.date2num(np.asarray(curves["t_ms"], dtype="datetime64[ms]"))  # type: ignore[no-untyped-call]


def _date_axis(axis: Any) -> None:
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    axis.xaxis.set_major_locator(locator)
    axis.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))  # type: ignore[no-untyped-call]
    axis.set_xlabel("market time (UTC)")


def _panels(title: str) -> tuple[Figure, Any, Any]:
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=FIGSIZE, dpi=DPI, sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    figure.suptitle(title)
    top.set_label(PANEL_TITLES[0])
    bottom.set_label(PANEL_TITLES[1])
    return figure, top, bottom


def equity_figure(summary: dict[str, Any], curves: dict[str, Any]) -> Figure:
    run = summary["run"]
    quote = summary["account"]["quote_asset"]
    initial = float(summary["initial_equity"])
    times = _dates(curves)
    figure, top, bottom = _panels(f"Run {run['run_id']} ({run['kind']}, {run['environment']})")
    account = [value - initial for value in curves["equity"]]
    top.plot(times, account, color="black", linewidth=1.6, label="account")
    for index, (name, pnl) in enumerate(sorted(curves["strategy_pnl"].items())):
        top.plot(times, pnl, color=COLOURS[index % len(COLOURS)], linewidth=1.0, label=name)
    top.axhline(0.0, color="#888", linestyle="--", linewidth=0.8)
    top.set_title("PnL since the start: account and each strategy's contribution")
    top.set_ylabel(quote)
    top.grid(alpha=0.3)
    top.legend(loc="best", fontsize="small")
    drawdown = [100 * d for d in drawdown_series(curves["equity"], initial)]
    bottom.fill_between(times, drawdown, 0.0, color="#d1242f", alpha=0.35)
    bottom.plot(times, drawdown, color="#d1242f", linewidth=0.8)
    bottom.set_title("Account drawdown from its peak")
    bottom.set_ylabel("% of start")
    bottom.grid(alpha=0.3)
    _date_axis(bottom)
    figure.tight_layout()
    return figure


def strategy_figure(name: str, summary: dict[str, Any], curves: dict[str, Any]) -> Figure:
    row = summary["strategies"][name]
    capital = float(row["capital"]) or 1.0
    pnl = curves["strategy_pnl"][name]
    times = _dates(curves)
    figure, top, bottom = _panels(f"{name}: run {summary['run']['run_id']}")
    top.plot(times, pnl, color="#1f6feb", linewidth=1.2, label=f"{name} PnL")
    top.axhline(0.0, color="#888", linestyle="--", linewidth=0.8)
    top.set_title(f"PnL since the start (capital {capital:,.0f} {summary['account']['quote_asset']})")
    top.set_ylabel(summary["account"]["quote_asset"])
    top.grid(alpha=0.3)
    top.legend(loc="best", fontsize="small")
    drawdown = [100 * d for d in drawdown_series(pnl, capital)]
    bottom.fill_between(times, drawdown, 0.0, color="#d1242f", alpha=0.35)
    bottom.set_title("Drawdown from its PnL peak")
    bottom.set_ylabel("% of capital")
    bottom.grid(alpha=0.3)
    _date_axis(bottom)
    figure.tight_layout()
    return figure


def png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
