"""Same-machine reference figure for nautilus_trader (issue 17's peer comparison): its BacktestEngine
over the Binance 5m candles the paper bench reads, one shipped example EMACross strategy per
instrument, no persistence, logging bypassed.

nautilus_trader is NOT a tradeops dependency. Install it in a venv of its own, outside the repo:

    python3 -m venv /tmp/ntenv && /tmp/ntenv/bin/pip install nautilus_trader==1.221.0 pandas

and run from the repo root:

    /tmp/ntenv/bin/python scripts/dev/peer_nautilus.py --json              # sparse: all 657,423 bars
    /tmp/ntenv/bin/python scripts/dev/peer_nautilus.py --json --dense      # dense: 10k bars x 10 symbols
    /tmp/ntenv/bin/python scripts/dev/peer_nautilus.py --json --bars 5000 --runs 1   # a quick check

Each run is a fresh child process (clean engine state, its own peak RSS); the parent prints the
median of --runs runs and the load average before the first and after the last. Figures:

- run_seconds: `engine.run()` alone;
- e2e_seconds: candles (already parsed from JSON) to Bars, instruments, venue, strategies, data
  sort, and `engine.run()`; load_seconds (gunzip + JSON parse) is reported apart;
- post-run analysis (nautilus's performance statistics, `run_analysis`) is off unless --analysis:
  the paper bench builds no report either, and it cost about 1.6 s of a 6 s run of 50k bars here;
- orders: every order the strategies created, including the closing ones on stop; fills and
  positions as nautilus's cache counts them; denied/rejected must stay 0.

Setup: one spot CurrencyPair per symbol on a simulated BINANCE venue, cash account, netting OMS,
0.1 % taker fee. The account starts with 10M USDT and 100x the trade size of each base coin, so
that the sells EMACross makes from flat (it goes short too) are covered by a coin balance. Size:
about 1,000 USDT at the symbol's first close. Bar ts_event is the bar's close (open time + 5 min).
Sparse: EMA 10/20 over every bar (59,826 orders on 657,423 bars). Dense: the first 10,000 bars
of each symbol, EMA 7/15: 12,910 orders, the peers' dense workload of about 13k (10/20 gave
9,382, 8/16 11,694, 7/14 13,354).
The example strategy formats every bar with repr() for a log line even when logging is bypassed;
that cost is part of the figure.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO.parent / "shared" / "data" / "market" / "binance-spot-candles"
BAR_MS = 5 * 60 * 1000
TRADE_NOTIONAL = 1_000.0  # USDT per order, converted once to a fixed per-symbol quantity
SPARSE_EMA = (10, 20)
DENSE_EMA = (7, 15)
DENSE_BARS = 10_000


def _decimals(values: list[float]) -> int:
    """Most decimals any of the values shows in its shortest repr (the venue's precision)."""
    most = 0
    for v in values:
        exponent = Decimal(repr(v)).normalize().as_tuple().exponent
        if isinstance(exponent, int):
            most = max(most, -exponent)
    return min(most, 9)


def load(data_dir: Path, bars: int | None) -> dict[str, list[list[float]]]:
    files = sorted(data_dir.glob("*_USDT-5m.json.gz"))
    if len(files) != 10:
        raise SystemExit(f"expected 10 *_USDT-5m.json.gz files in {data_dir}, found {len(files)}")
    out = {}
    for path in files:
        with gzip.open(path, "rt") as fh:
            rows = json.load(fh)
        out[path.name.split("_")[0]] = rows[:bars] if bars else rows
    return out


def _instrument(symbol: str, rows: list[list[float]]) -> Any:
    from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
    from nautilus_trader.model.instruments import CurrencyPair
    from nautilus_trader.model.objects import Currency, Price, Quantity

    price_prec = _decimals([v for r in rows for v in r[1:5]])
    size_prec = max(_decimals([r[5] for r in rows]), 1)
    raw = f"{symbol}USDT"
    return CurrencyPair(
        instrument_id=InstrumentId(Symbol(raw), Venue("BINANCE")),
        raw_symbol=Symbol(raw),
        base_currency=Currency.from_str(symbol),
        quote_currency=Currency.from_str("USDT"),
        price_precision=price_prec,
        size_precision=size_prec,
        price_increment=Price(10.0**-price_prec, price_prec),
        size_increment=Quantity(10.0**-size_prec, size_prec),
        maker_fee=Decimal("0.001"),
        taker_fee=Decimal("0.001"),
        ts_event=0,
        ts_init=0,
    )


def _bars(instrument: Any, rows: list[list[float]]) -> tuple[Any, list[Any]]:
    import pandas as pd
    from nautilus_trader.model.data import BarType
    from nautilus_trader.persistence.wranglers import BarDataWrangler

    bar_type = BarType.from_str(f"{instrument.id}-5-MINUTE-LAST-EXTERNAL")
    frame = pd.DataFrame(rows, columns=["open_ms", "open", "high", "low", "close", "volume"])
    frame.index = pd.to_datetime(frame.pop("open_ms") + BAR_MS, unit="ms", utc=True)  # close time
    frame.index.name = "timestamp"
    return bar_type, BarDataWrangler(bar_type, instrument).process(frame)


def one_run(market: dict[str, list[list[float]]], fast: int, slow: int, analysis: bool) -> dict[str, Any]:
    """Build the engine from parsed candles, run it, and count what it did (one process, one run)."""
    from nautilus_trader.backtest.engine import BacktestEngine
    from nautilus_trader.config import BacktestEngineConfig, LoggingConfig
    from nautilus_trader.examples.strategies.ema_cross import EMACross, EMACrossConfig
    from nautilus_trader.model.enums import AccountType, OmsType
    from nautilus_trader.model.identifiers import TraderId, Venue
    from nautilus_trader.model.objects import Money

    started = time.perf_counter()
    engine = BacktestEngine(
        BacktestEngineConfig(
            trader_id=TraderId("PEER-001"),
            logging=LoggingConfig(bypass_logging=True),
            run_analysis=analysis,
        )
    )
    setups = []
    for symbol, rows in market.items():
        instrument = _instrument(symbol, rows)
        size = instrument.make_qty(TRADE_NOTIONAL / rows[0][4]).as_decimal()
        setups.append((symbol, instrument, size))
    balances = [Money(10_000_000, setups[0][1].quote_currency)]
    balances += [Money(float(size * 100), inst.base_currency) for _, inst, size in setups]
    engine.add_venue(
        venue=Venue("BINANCE"),
        oms_type=OmsType.NETTING,
        account_type=AccountType.CASH,
        starting_balances=balances,
        base_currency=None,
    )
    for i, (symbol, instrument, size) in enumerate(setups):
        engine.add_instrument(instrument)
        bar_type, bars = _bars(instrument, market[symbol])
        # One sort of the whole stream, with the last symbol's bars (sort_data() in 1.221 sorts Bars
        # without a key and raises TypeError).
        engine.add_data(bars, sort=i == len(setups) - 1)
        config = EMACrossConfig(
            instrument_id=instrument.id,
            bar_type=bar_type,
            trade_size=size,
            fast_ema_period=fast,
            slow_ema_period=slow,
            subscribe_trade_ticks=False,
            request_bars=False,
            order_id_tag=f"{i:03d}",
        )
        engine.add_strategy(EMACross(config))
    run_started = time.perf_counter()
    engine.run()
    finished = time.perf_counter()
    orders = engine.cache.orders()
    statuses = Counter(o.status_string() for o in orders)
    fills = sum(len(o.trade_ids) for o in orders)
    positions = len(engine.cache.positions())
    engine.dispose()
    n_bars = sum(len(rows) for rows in market.values())
    return {
        "bars": n_bars,
        "orders": len(orders),
        "fills": fills,
        "positions": positions,
        "order_statuses": dict(sorted(statuses.items())),
        "run_seconds": finished - run_started,
        "e2e_seconds": finished - started,
        "run_bars_per_second": n_bars / (finished - run_started),
        "e2e_bars_per_second": n_bars / (finished - started),
    }


def child(args: argparse.Namespace) -> None:
    loaded = time.perf_counter()
    market = load(args.data_dir, args.bars)
    load_seconds = time.perf_counter() - loaded
    row = one_run(market, args.fast, args.slow, args.analysis)
    row["load_seconds"] = load_seconds
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(row))


def _spawn(cmd: list[str]) -> dict[str, Any]:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"run failed with exit code {done.returncode}")
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return row


def _load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bars", type=int, default=None, help="first N bars per symbol (default all)")
    ap.add_argument("--runs", type=int, default=3, help="median of K runs, each a fresh process")
    ap.add_argument("--dense", action="store_true", help=f"first {DENSE_BARS} bars/symbol, EMA {DENSE_EMA}")
    ap.add_argument("--fast", type=int, default=None, help="fast EMA period (override)")
    ap.add_argument("--slow", type=int, default=None, help="slow EMA period (override)")
    ap.add_argument("--analysis", action="store_true", help="keep nautilus's post-run analysis in run()")
    ap.add_argument("--data-dir", type=Path, default=DATA_DIR)
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.runs = max(args.runs, 1)
    fast, slow = DENSE_EMA if args.dense else SPARSE_EMA
    args.fast, args.slow = args.fast or fast, args.slow or slow
    if args.dense and args.bars is None:
        args.bars = DENSE_BARS
    if args.child:
        child(args)
        return

    import nautilus_trader

    cmd = [sys.executable, __file__, "--child", "--fast", str(args.fast), "--slow", str(args.slow)]
    cmd += ["--data-dir", str(args.data_dir)] + (["--bars", str(args.bars)] if args.bars else [])
    cmd += ["--analysis"] if args.analysis else []
    load_start = _load_avg()
    rows = [_spawn(cmd) for _ in range(args.runs)]
    out: dict[str, Any] = {
        "peer": f"nautilus_trader {nautilus_trader.__version__}",
        "mode": "dense" if args.dense else "sparse",
        "strategy": f"examples.strategies.ema_cross.EMACross fast {args.fast} / slow {args.slow}",
        "runs": args.runs,
        "post_run_analysis": args.analysis,
        "bars": rows[0]["bars"],
        "orders": rows[0]["orders"],
        "fills": rows[0]["fills"],
        "positions": rows[0]["positions"],
        "order_statuses": rows[0]["order_statuses"],
    }
    for key in (
        "run_seconds",
        "e2e_seconds",
        "load_seconds",
        "run_bars_per_second",
        "e2e_bars_per_second",
        "peak_rss_mb",
    ):
        out[key] = round(statistics.median(r[key] for r in rows), 3)
    out["per_run"] = [
        {k: round(r[k], 3) for k in ("run_seconds", "e2e_seconds", "peak_rss_mb")} for r in rows
    ]
    out["load_average_start"] = load_start
    out["load_average_end"] = _load_avg()
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(
            f"{out['peer']} {out['mode']}: {out['bars']} bars, {out['orders']} orders; "
            f"run {out['run_bars_per_second']:.0f} bars/s, e2e {out['e2e_bars_per_second']:.0f} bars/s, "
            f"peak RSS {out['peak_rss_mb']:.0f} MB, load {load_start} -> {out['load_average_end']}"
        )


if __name__ == "__main__":
    main()
