"""`tradeops bench paper`: the engine end to end (signal -> risk -> fill -> state -> decision log)."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import numpy as np
from rich.console import Console

from tradeops.bootstrap.engine import RunOptions, build_runtime
from tradeops.cli.options import config_option
from tradeops.config.load import load_config
from tradeops.config.models import AppConfig
from tradeops.marketdata.datasets import load_dataset
from tradeops.marketdata.loaders import CandleSeries
from tradeops.marketdata.synthetic import synthetic_market

SHARED_CANDLES = Path("../shared/data/market/binance-spot-candles")
SYMBOLS = (
    "BTC/USDT",
    "ETH/USDT",
    "SOL/USDT",
    "XRP/USDT",
    "ADA/USDT",
    "LTC/USDT",
    "DOT/USDT",
    "LINK/USDT",
    "AVAX/USDT",
    "MATIC/USDT",
)
# Dense: parameters that make every strategy trade often (an order every few bars per symbol).
DENSE_PARAMS: dict[str, dict[str, Any]] = {
    "daily_trend": {
        "fast_ma": 5,
        "slow_ma": 20,
        "breakout_lookback": 5,
        "momentum_window": 3,
        "min_trend_strength": 0.0,
        "min_momentum": 0.0,
    },
    "mean_reversion": {
        "lookback": 20,
        "entry_zscore": 0.8,
        "exit_zscore": 0.2,
        "max_holding_bars": 3,
        "min_volume_usd": 0.0,
        "volatility_cap": 1.0,
    },
    "volatility_target": {"lookback": 12, "rebalance_threshold": 0.02},
    "cross_exchange": {"spread_entry": 0.0004, "spread_exit": 0.0001},
}


def _mirror(series: CandleSeries, venue: str, seed: int) -> CandleSeries:
    """A second venue for cross_exchange: the same candles with small deterministic price noise."""
    rng = np.random.default_rng(seed)
    noise = 1.0 + rng.normal(0.0, 0.0003, len(series))
    return series.with_prices(venue=venue, factor=noise)


def _market(bars: int, use_shared: bool) -> tuple[list[CandleSeries], str]:
    if use_shared and SHARED_CANDLES.is_dir():
        primary = load_dataset(SHARED_CANDLES, symbols=list(SYMBOLS), interval="5m")
        primary = [s.head(bars) for s in primary]
        source = str(SHARED_CANDLES)
    else:
        primary = [
            s for s in synthetic_market(list(SYMBOLS), ["binance"], bars, "5m") if s.venue == "binance"
        ]
        source = "synthetic"
    mirrored = [_mirror(s, "bybit", i) for i, s in enumerate(primary)]
    return primary + mirrored, source


def _bench_config(cfg: AppConfig) -> AppConfig:
    sched_name = cfg.runtime.default_scheduler
    sched = cfg.scheduler()
    schedules = {
        name: s.model_copy(update={"symbols": SYMBOLS, "cadence_seconds": 300.0, "max_drift_seconds": 60.0})
        for name, s in sched.schedules.items()
    }
    profile = cfg.risk_profiles["balanced"].model_copy(
        update={"max_open_positions": 100, "max_position_pct": 0.05}
    )
    runtime = cfg.runtime.model_copy(
        update={"multi_strategy_schedulers": {sched_name: sched.model_copy(update={"schedules": schedules})}}
    )
    return cfg.model_copy(
        update={"runtime": runtime, "risk_profiles": {**cfg.risk_profiles, "balanced": profile}}
    )


def _one_run(cfg: AppConfig, market: list[CandleSeries], dense: bool, workdir: Path) -> dict[str, float]:
    options = RunOptions(
        market=market,
        state=str(workdir / f"state-{time.monotonic_ns()}.sqlite"),  # a fresh account per run
        kill_switch=False,
        decision_log_path=str(workdir / f"decisions-{time.monotonic_ns()}.jsonl"),
        strategy_params=DENSE_PARAMS if dense else None,
    )
    runtime = build_runtime(options, cfg)
    try:
        started = time.perf_counter()
        asyncio.run(runtime.scheduler.run())
        runtime.sink.flush()
        elapsed = time.perf_counter() - started
        bars = sum(len(s) for s in market if s.venue == "binance")
        orders = sum(s.orders for s in runtime.stats.strategies.values())
        fills = sum(s.fills for s in runtime.stats.strategies.values())
    finally:
        runtime.close()
    return {
        "bars": bars,
        "orders": orders,
        "fills": fills,
        "seconds": elapsed,
        "bars_per_second": bars / elapsed,
        "orders_per_second": orders / elapsed,
    }


@click.command("paper")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--bars",
    type=click.IntRange(min=1000),
    default=100_000,
    show_default=True,
    help="Bars per symbol (the shared 5m files hold about 65.7k).",
)
@click.option(
    "--runs", type=click.IntRange(min=1), default=3, show_default=True, help="Median over this many runs."
)
@click.option(
    "--dense-bars",
    type=click.IntRange(min=1000),
    default=10_000,
    show_default=True,
    help="Bars per symbol for the dense run (every step fills, so every step is one fsynced transaction).",
)
@click.option("--synthetic", is_flag=True, help="Use the synthetic market even when ../shared data exists.")
@config_option
def bench_paper(
    as_json: bool, bars: int, runs: int, dense_bars: int, synthetic: bool, config_path: Path
) -> None:
    """4 strategies x 10 symbols of 5m candles, sparse (shipped parameters) and dense (frequent orders)."""
    console = Console(stderr=True, quiet=as_json)
    cfg = _bench_config(load_config(config_path))
    market, source = _market(bars, not synthetic)
    os.environ.setdefault("TRADEOPS_DECISION_LOG_KEY", secrets.token_hex(32))
    results: dict[str, list[dict[str, float]]] = {"sparse": [], "dense": []}
    with tempfile.TemporaryDirectory(prefix="tradeops-bench-") as tmp:
        for mode in ("sparse", "dense"):
            for i in range(runs):
                console.print(f"{mode} run {i + 1}/{runs} ...")
                data = market if mode == "sparse" else [s.head(dense_bars) for s in market]
                results[mode].append(_one_run(cfg, data, mode == "dense", Path(tmp)))
    med = {m: {k: statistics.median(r[k] for r in rows) for k in rows[0]} for m, rows in results.items()}
    out = {
        "bars_per_second": round(med["sparse"]["bars_per_second"]),
        "orders_per_second": round(med["dense"]["orders_per_second"], 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "dense_bars_per_second": round(med["dense"]["bars_per_second"]),
        "sparse_orders": int(med["sparse"]["orders"]),
        "dense_orders": int(med["dense"]["orders"]),
        "bars": int(med["sparse"]["bars"]),
        "dense_bars": int(med["dense"]["bars"]),
        "symbols": len(SYMBOLS),
        "strategies": 4,
        "runs": runs,
        "source": source,
        "pipeline": "signal -> risk gate -> paper fill -> signed decision log (group commit) "
        "-> SQLite projection (one transaction per durable log batch)",
    }
    click.echo(json.dumps(out, indent=None if as_json else 2))
