"""Use case `report run`: the charts and the HTML page of a recorded run, from its summary and curves.

A run directory (`var/runs/<run_id>/`, written at the end of `tradeops demo` and of every backtest,
and its `--report-dir` copy) holds `summary.json` and `curves.json`; the run itself draws no chart.
`report_run` draws `equity.png`, one `strategy_<name>.png` per strategy, and the self-contained
`report.html` (by default beside them, or where `--html`/`--png` say). RUN is a run id, `latest`
(the run whose summary was written last), or a directory holding a summary (`reports/demo`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradeops.domain.errors import UserInputError
from tradeops.fsutil import atomic_write_bytes, atomic_write_text
from tradeops.ops.run_summary import CURVES_FILE, SUMMARY_FILE

RUNS_DIR = Path("var/runs")
HTML_FILE = "report.html"
EQUITY_PNG = "equity.png"
Progress = Callable[[int, int, str], None]  # (done, total, what is being written)


@dataclass(frozen=True, slots=True)
class ReportContext:
    runs_dir: Path = RUNS_DIR


@dataclass(frozen=True, slots=True)
class ReportRun:
    run: str = "latest"  # a run id, or `latest`
    html: Path | None = None  # default: <run dir>/report.html
    png_dir: Path | None = None  # default: the run directory


@dataclass(frozen=True, slots=True)
class RunReportView:
    run_id: str
    directory: Path
    summary: Mapping[str, Any]
    written: tuple[tuple[str, Path], ...]


def _read(path: Path, what: str) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserInputError(
            f"{path}: no {what}; only runs of this version record it (run it again)"
        ) from None
    except ValueError as exc:
        raise UserInputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(loaded, dict):
        raise UserInputError(f"{path}: expected a JSON object")
    return loaded


def find_run(ctx: ReportContext, run: str) -> Path:
    """The directory of run `run` (or of the latest run with a summary, or `run` itself when it is
    a directory holding one)."""
    if (Path(run) / SUMMARY_FILE).is_file() and ("/" in run or run == "."):
        return Path(run)
    if run != "latest":
        directory = ctx.runs_dir / run
        if not (directory / SUMMARY_FILE).is_file():
            known = sorted(p.parent.name for p in ctx.runs_dir.glob(f"*/{SUMMARY_FILE}"))[-5:]
            hint = f"; recent runs: {', '.join(known)}" if known else "; run `tradeops demo` first"
            raise UserInputError(f"run {run}: no {ctx.runs_dir / run / SUMMARY_FILE}{hint}")
        return directory
    summaries = sorted(
        ctx.runs_dir.glob(f"*/{SUMMARY_FILE}"), key=lambda p: (p.stat().st_mtime, p.parent.name)
    )
    if not summaries:
        raise UserInputError(f"no run with a summary under {ctx.runs_dir}: run `tradeops demo` first")
    return summaries[-1].parent


def write_report_files(
    summary: Mapping[str, Any],
    curves: Mapping[str, Any],
    png_dir: Path,
    html: Path,
    progress: Progress | None = None,
) -> list[tuple[str, Path]]:
    """Every chart as PNG into `png_dir`, then the page (charts inlined) at `html`."""
    from tradeops.ops.run_html import render_html
    from tradeops.ops.run_plots import equity_figure, png_bytes, strategy_figure

    names = [n for n in summary["strategies"] if n in curves.get("strategy_pnl", {})]
    total, done = len(names) + 2, 0
    written: list[tuple[str, Path]] = []
    images: dict[str, bytes] = {}
    if not curves.get("t_ms"):
        raise UserInputError("the run recorded no step: nothing to plot (was the replay window empty?)")

    def step(what: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, what)

    data = png_bytes(equity_figure(dict(summary), dict(curves)))
    images["Equity: account and strategy contributions, drawdown"] = data
    written.append(("equity_png", atomic_write_bytes(png_dir / EQUITY_PNG, data)))
    step(EQUITY_PNG)
    for name in names:
        data = png_bytes(strategy_figure(name, dict(summary), dict(curves)))
        images[f"{name}: PnL and drawdown"] = data
        written.append((f"{name}_png", atomic_write_bytes(png_dir / f"strategy_{name}.png", data)))
        step(f"strategy_{name}.png")
    written.append(("html", atomic_write_text(html, render_html(summary, images))))
    step(html.name)
    return written


def report_run(ctx: ReportContext, command: ReportRun, progress: Progress | None = None) -> RunReportView:
    directory = find_run(ctx, command.run)
    summary = _read(directory / SUMMARY_FILE, "run summary")
    curves = _read(directory / CURVES_FILE, "curves.json")
    written = write_report_files(
        summary,
        curves,
        command.png_dir or directory,
        command.html or directory / HTML_FILE,
        progress,
    )
    return RunReportView(directory.name, directory, summary, tuple(written))
