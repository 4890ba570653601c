"""CPU time per bar of one `tradeops bench paper` case, optionally under cProfile (issue 17).

    .venv/bin/python scripts/dev/profile_paper.py sparse 10000            # CPU time, no profiler
    .venv/bin/python scripts/dev/profile_paper.py dense 1000 --profile out.prof   # or heavy

Runs the bench's own `_one_run` (same config, data and pipeline) on the first BARS bars per symbol
of ../shared/data (the synthetic market when absent) and prints the process CPU time and the main
thread's CPU time per bar (bars counted as the bench counts them: the primary venue's). CPU time
moves far less with the machine's load than the bench's wall-clock bars/s. With --profile the
profiler's clock is the main thread's CPU time (time.thread_time), so waiting for the GIL or a core
is not counted, and the shares of the engine's parts are printed from the profile.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

from tradeops.bench import paper
from tradeops.config.load import load_config
from tradeops.decision_log.keys import ephemeral_key

PARTS = (  # (label, file fragment, function): cumulative time, as a share of the scheduler's steps
    ("strategies' decide", "strategies/", "decide"),
    ("engine _holdings", "runtime/engine.py", "_holdings"),
    ("engine on_market", "runtime/engine.py", "on_market"),
    ("  Portfolio.roll", "runtime/portfolio.py", "roll"),
    ("  engine _monitor", "runtime/engine.py", "_monitor"),
    ("  engine book_fills", "runtime/engine.py", "book_fills"),
    ("market advance_to", "marketdata/series_store.py", "advance_to"),
    ("egress submit_group", "runtime/egress.py", "submit_group"),
    ("engine _order_for", "runtime/engine.py", "_order_for"),
    ("log: ProjectingSink.record", "persistence/journal.py", "record"),
    ("projection: ProjectingSink.commit", "persistence/journal.py", "commit"),
    ("heartbeat on_step", "runtime/heartbeat.py", "on_step"),
)


def _parts(path: str) -> None:
    stats = pstats.Stats(path).stats  # type: ignore[attr-defined]
    step = next(v for (f, _l, fn), v in stats.items() if f.endswith("runtime/scheduler.py") and fn == "step")
    total = step[3]
    calls = sum(v[1] for v in stats.values())
    print(f"profile: {calls} calls, {step[1]} steps, {total:.2f} s CPU in the steps")
    for label, fragment, name in PARTS:
        cum = sum(v[3] for (f, _l, fn), v in stats.items() if fragment in f and fn == name)
        print(f"  {label:36s} {cum / total * 100:5.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=paper.MODES)
    parser.add_argument("bars", type=int, help="bars per symbol")
    parser.add_argument("--profile", metavar="OUT", help="write a cProfile (main-thread CPU clock) here")
    parser.add_argument("--config", default="config/core.yaml")
    args = parser.parse_args()
    base = load_config(Path(args.config))
    config = paper.mode_configs(base)[args.mode]
    market, source = paper._market(args.bars, True)
    data = paper._mode_market(args.mode, market, args.bars)
    key = ephemeral_key(algorithm=base.decision_log.hash_algorithm)
    profiler = cProfile.Profile(time.thread_time) if args.profile else None
    with tempfile.TemporaryDirectory() as tmp:
        cpu, main_cpu = time.process_time(), time.thread_time()
        if profiler is not None:
            profiler.enable()
        run = paper._one_run(config, data, paper.STRATEGY_PARAMS[args.mode], Path(tmp), key)
        if profiler is not None:
            profiler.disable()
        cpu, main_cpu = time.process_time() - cpu, time.thread_time() - main_cpu
    bars = run["bars"]
    print(
        f"{args.mode}: {bars} bars, {run['orders']} orders ({source}); CPU {cpu / bars * 1e6:.1f} us/bar "
        f"(main thread {main_cpu / bars * 1e6:.1f}), bench figure {run['bars_per_second']:.0f} bars/s"
        + (" under the profiler" if profiler else "")
    )
    if profiler is not None:
        profiler.dump_stats(args.profile)
        _parts(args.profile)


if __name__ == "__main__":
    main()
