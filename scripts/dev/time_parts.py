"""Wall and CPU time inside the scheduler's step and its main parts for one `tradeops bench paper`
case (issue 17): timing wrappers instead of a profiler, so the shares are not skewed by per-call
profiling cost (the wrappers themselves slow the run by roughly a tenth).

    .venv/bin/python scripts/dev/time_parts.py sparse 65000
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tradeops.bench import paper
from tradeops.bootstrap.engine import RunOptions, build_runtime
from tradeops.config.load import load_config
from tradeops.decision_log.keys import ephemeral_key
from tradeops.marketdata.series_store import SeriesStore
from tradeops.persistence.journal import ProjectingSink
from tradeops.runtime.egress import OrderEgress
from tradeops.runtime.engine import TradingEngine
from tradeops.runtime.scheduler import Scheduler

PARTS = (
    (Scheduler, "step"),
    (TradingEngine, "run_cycle"),
    (TradingEngine, "on_market"),
    (ProjectingSink, "record"),
    (ProjectingSink, "commit"),
    (SeriesStore, "advance_to"),
    (OrderEgress, "submit_group"),
)
totals: defaultdict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])  # wall, cpu, calls


def _timed(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            row = totals[label]
            row[0] += time.perf_counter() - wall
            row[1] += time.thread_time() - cpu
            row[2] += 1

    return timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=paper.MODES)
    parser.add_argument("bars", type=int, help="bars per symbol")
    args = parser.parse_args()
    for owner, name in PARTS:
        setattr(owner, name, _timed(name, getattr(owner, name)))
    base = load_config(Path("config/core.yaml"))
    market, _ = paper._market(args.bars, True)
    data = paper._mode_market(args.mode, market, args.bars)
    key = ephemeral_key(algorithm=base.decision_log.hash_algorithm)
    with tempfile.TemporaryDirectory() as tmp:
        options = RunOptions(
            market=data,
            state=str(Path(tmp) / "state.sqlite"),
            kill_switch=False,
            decision_log_path=str(Path(tmp) / "decisions.jsonl"),
            strategy_params=paper.STRATEGY_PARAMS[args.mode],
            signing_key=key,
        )
        runtime = build_runtime(options, paper.mode_configs(base)[args.mode])
        started = time.perf_counter()
        asyncio.run(runtime.scheduler.run())
        runtime.sink.flush()
        wall = time.perf_counter() - started
        runtime.close()
    bars = sum(len(s) for s in data if s.venue == "binance")
    print(f"{args.mode}: {bars} bars in {wall:.2f} s, {bars / wall:.0f} bars/s (with the wrappers)")
    for label, (spent, cpu, calls) in sorted(totals.items(), key=lambda item: -item[1][0]):
        print(
            f"  {label:13s} {int(calls):8d} calls  {spent:7.2f} s wall ({spent / wall * 100:5.1f} %)"
            f"  {spent / calls * 1e6:7.1f} us wall, {cpu / calls * 1e6:7.1f} us CPU per call"
        )


if __name__ == "__main__":
    main()
