"""The run summary a quant would keep: metadata, statistics per strategy and for the account,
warnings and data quality. Written as `summary.json` (with the curves in `curves.json`) under
`var/runs/<run_id>/` at the end of a backtest or demo, and to `--report-dir` when one is given.

Schema `tradeops.run_summary/2`: `run` (id, kind, environment, version, config path and sha256,
data source and sha256, seed, interval, window, bars, steps, generated_at in wall time), `account`
(equity, return, drawdown, Sharpe, Sortino), `strategies` (per strategy: the counters, fees, PnL and
the statistics of `run_stats`), `warnings` (one line each) and `data_quality` (per instrument).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradeops import __version__
from tradeops.bootstrap.engine import Runtime
from tradeops.domain.clock import ms_to_iso
from tradeops.fsutil import atomic_write_json, atomic_write_text
from tradeops.ops.loadtest.report import file_sha256
from tradeops.ops.run_quality import data_digest, instrument_quality, run_warnings
from tradeops.ops.run_recorder import RunRecorder
from tradeops.ops.run_report import summary as counters_summary
from tradeops.ops.run_stats import CurveStats, TradeStats, curve_stats, trade_stats

SCHEMA = "tradeops.run_summary/2"
SUMMARY_FILE = "summary.json"
CURVES_FILE = "curves.json"


def _rounded(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def _curve_json(stats: CurveStats) -> dict[str, Any]:
    return {
        "total_return": _rounded(stats.total_return),
        "max_drawdown_ratio": _rounded(stats.max_drawdown_ratio),
        "sharpe": _rounded(stats.sharpe, 4),
        "sortino": _rounded(stats.sortino, 4),
        "exposure_ratio": _rounded(stats.exposure_ratio, 4),
    }


def _trades_json(stats: TradeStats, open_trades: int) -> dict[str, Any]:
    return {
        "trades": stats.trades,
        "open_trades": open_trades,
        "wins": stats.wins,
        "losses": stats.losses,
        "win_rate": _rounded(stats.win_rate, 4),
        "profit_factor": _rounded(stats.profit_factor, 4),
        "gross_profit": _rounded(stats.gross_profit, 2),
        "gross_loss": _rounded(stats.gross_loss, 2),
        "average_trade": _rounded(stats.average_trade, 4),
    }


def _data_source(runtime: Runtime) -> dict[str, Any]:
    opts = runtime.options
    if opts.market is not None:
        return {"kind": "memory"}
    if opts.data is None:
        return {"kind": "synthetic", "seed": opts.seed, "bars": opts.synthetic_bars}
    return {"kind": "files", "path": str(opts.data)}


def run_metadata(runtime: Runtime, recorder: RunRecorder) -> dict[str, Any]:
    engine, opts = runtime.engine, runtime.options
    start = recorder.times[0] if recorder.times else None
    end = recorder.times[-1] if recorder.times else None
    instruments = runtime.series.instruments()
    interval = next(iter(engine.slots.values())).schedule.interval if engine.slots else ""
    return {
        "run_id": runtime.run_id,
        "kind": runtime.kind,
        "environment": opts.environment,
        "version": __version__,
        "config": str(opts.config_path),
        "config_sha256": file_sha256(Path(opts.config_path)),
        "data_source": _data_source(runtime),
        "data_sha256": data_digest(runtime.series),
        "seed": opts.seed,
        "interval": interval,
        "window": {
            "start": ms_to_iso(start) if start is not None else None,
            "end": ms_to_iso(end) if end is not None else None,
            "start_ms": start,
            "end_ms": end,
            "from_flag": ms_to_iso(opts.from_ms) if opts.from_ms is not None else None,
            "to_flag": ms_to_iso(opts.to_ms) if opts.to_ms is not None else None,
        },
        "time": "market",  # window and curve times are market time; generated_at is wall time
        "instruments": [f"{venue} {symbol}" for venue, symbol in instruments],
        "bars": sum(len(runtime.series.loaded(v, s)[0]) for v, s in instruments),
        "steps": recorder.steps,
        "strategies": list(engine.slots),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }


def build_summary(runtime: Runtime, recorder: RunRecorder) -> dict[str, Any]:
    """The whole summary document of a finished run."""
    engine = runtime.engine
    recorder.finish()
    initial = float(engine.portfolio.initial_equity)
    base = counters_summary(engine)
    strategies: dict[str, Any] = {}
    for name, row in base["strategies"].items():
        stats = engine.stats.strategies[name]
        capital = initial * stats.configured_allocation if stats.configured_allocation > 0 else initial
        curve = curve_stats(
            recorder.times, recorder.pnl.get(name, []), capital, recorder.exposed.get(name, [])
        )
        pnls = [t.pnl for t in recorder.trades if t.strategy == name]
        open_trades = recorder.open_trades(name)
        strategies[name] = {
            **row,
            "capital": round(capital, 2),
            "pnl": _rounded(recorder.pnl[name][-1], 2) if recorder.pnl.get(name) else 0.0,
            **_curve_json(curve),
            **_trades_json(trade_stats(pnls), open_trades),
        }
    account = curve_stats(recorder.times, recorder.equity, initial)
    start, end = (recorder.times[0], recorder.times[-1]) if recorder.times else (0, 0)
    quality = instrument_quality(runtime.series, start, end)
    return {
        "schema": SCHEMA,
        "run": run_metadata(runtime, recorder),
        "environment": base["environment"],
        "equity": base["equity"],
        "initial_equity": base["initial_equity"],
        "account": {"quote_asset": engine.portfolio.quote_asset, **_curve_json(account)},
        "strategies": strategies,
        "warnings": run_warnings(engine, runtime.series, quality),
        "data_quality": quality,
    }


def write_summary(directory: Path, summary: dict[str, Any], curves: dict[str, Any]) -> dict[str, Path]:
    """summary.json indented (people read it), curves.json compact (programs read it)."""
    compact = json.dumps(curves, separators=(",", ":"), ensure_ascii=False) + "\n"
    return {
        "summary": atomic_write_json(directory / SUMMARY_FILE, summary),
        "curves": atomic_write_text(directory / CURVES_FILE, compact),
    }
