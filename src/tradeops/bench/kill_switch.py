"""`tradeops bench kill-switch`: how fast a running gate closes after the override file appears.

A producer thread sends ~1k orders/s through KillSwitch.allows_new_order (the egress check). Each
trial writes the override with the real writer at a random moment and records:

- t0: the instant right BEFORE link(2) gives the fully written file its final name, and t_visible
  the instant right AFTER link(2) returns (the writer's `publish_hook`);
- detection latency: t0 -> the watcher thread has read the file and published the active state
  (the gate is then closed for every caller without any further file access). Measuring from
  before the link makes the figure an upper bound (it includes the link syscall);
- orders_after_switch: orders ACCEPTED whose gate check started after t_visible and ended before
  the bench began removing the file again for the next trial (target 0);
- orders_in_watcher_window: orders whose check started after t_visible while nobody had published
  the new state yet. The per-order lstat check alone stopped these.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from tradeops.bootstrap.override_files import remove_override_file, write_override
from tradeops.config.overrides import (
    COMPONENTS,
    OVERRIDE_SCHEMA,
    OVERRIDE_SCHEMA_VERSION,
    OverrideFile,
    format_timestamp,
)
from tradeops.host.override_watcher import OverrideWatcher
from tradeops.runtime.kill_switch import KillSwitch
from tradeops.runtime.overrides import OverrideState

WAIT_S = 2.0


def _wall_ms() -> int:
    return int(time.time() * 1000)


def _percentile(values: list[float], q: float) -> float:
    """Nearest rank (with 50 samples p99 is the maximum: no interpolation flatters it)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class _Trial:
    before: float = 0.0  # perf_counter of t0 (right before link)
    visible: float = math.inf  # perf_counter of t_visible (right after link); inf while none pending
    removing: float = math.inf  # perf_counter right before the file is removed again
    published: threading.Event = field(default_factory=threading.Event)
    published_at: float = 0.0


class _Producer(threading.Thread):
    def __init__(self, gate: KillSwitch, watcher: OverrideWatcher, trial: list[_Trial], rate: float) -> None:
        super().__init__(name="bench-producer", daemon=True)
        self.gate, self.watcher, self.trial, self.period = gate, watcher, trial, 1.0 / rate
        self.stop_flag = threading.Event()
        self.checked = 0
        self.accepted_after = 0
        self.in_window = 0
        self.check_ns: list[int] = []

    def run(self) -> None:
        next_at = time.perf_counter()
        while not self.stop_flag.is_set():
            trial = self.trial[0]
            started = time.perf_counter()
            watcher_knew = self.watcher.state.active
            t0 = time.perf_counter_ns()
            verdict = self.gate.allows_new_order("daily_trend")
            self.check_ns.append(time.perf_counter_ns() - t0)
            self.checked += 1
            # Inside the switch's lifetime: started after t_visible, finished before the file's
            # removal began (a check overlapping the removal may rightly see trading resumed).
            if trial.visible < started and time.perf_counter() < trial.removing:
                self.accepted_after += verdict is None
                self.in_window += not watcher_knew
            next_at += self.period
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            else:
                next_at = time.perf_counter()


def _document(now_ms: int) -> OverrideFile:
    return OverrideFile(
        schema_name=OVERRIDE_SCHEMA,
        schema_version=OVERRIDE_SCHEMA_VERSION,
        timestamp=format_timestamp(now_ms),
        action="disable_multi_strategy",
        reason="kill switch benchmark",
        ticket="BENCH",
        requested_by="bench",
    )


def _wait(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if time.monotonic() > deadline:
            raise click.ClickException(f"timed out waiting for {what}")
        time.sleep(0.0005)


def run_mode(mode: str, trials: int, rate: float, poll_interval_ms: int, base: Path) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix=f"kill-switch-{mode}-", dir=base))
    current = [_Trial(visible=math.inf)]

    def on_change(state: OverrideState) -> None:
        trial = current[0]
        if state.active and not trial.published.is_set():
            trial.published_at = time.perf_counter()
            trial.published.set()

    watcher = OverrideWatcher(
        directory, _wall_ms, poll_interval_ms, on_change, use_inotify=(mode == "inotify")
    )
    gate = KillSwitch(watcher, dict, _wall_ms)
    producer = _Producer(gate, watcher, current, rate)
    latencies: list[float] = []
    rng = random.Random(11)
    target = directory / COMPONENTS["multi_strategy"].file_name
    started = time.perf_counter()
    try:
        watcher.start()
        producer.start()
        for _ in range(trials):
            time.sleep(rng.uniform(0.02, 0.05))  # land at a random phase of the producer and poller
            trial = _Trial()
            current[0] = trial

            def mark(done: bool, trial: _Trial = trial) -> None:
                if done:
                    trial.visible = time.perf_counter()
                else:
                    trial.before = time.perf_counter()

            write_override(directory, _document(_wall_ms()), force=False, publish_hook=mark)
            if not trial.published.wait(WAIT_S):
                raise click.ClickException(f"{mode}: the watcher did not see the override within {WAIT_S}s")
            latencies.append((trial.published_at - trial.before) * 1000)
            trial.removing = time.perf_counter()  # removal is not part of the measurement
            remove_override_file(target)
            _wait(lambda: not watcher.state.active and not gate.override_active(), "the override to clear")
    finally:
        producer.stop_flag.set()
        producer.join()
        watcher.stop()
        elapsed = time.perf_counter() - started
        shutil.rmtree(directory, ignore_errors=True)
    return {
        "watcher": mode,
        "trials": trials,
        "p50_ms": round(statistics.median(latencies), 3),
        "p99_ms": round(_percentile(latencies, 0.99), 3),
        "max_ms": round(max(latencies), 3),
        "orders_after_switch": producer.accepted_after,
        "orders_in_watcher_window": producer.in_window,
        "orders_checked": producer.checked,
        "orders_per_second": round(producer.checked / elapsed),
        "check_us_p50": round(statistics.median(producer.check_ns) / 1000, 2),
        "check_us_p99": round(_percentile([float(v) for v in producer.check_ns], 0.99) / 1000, 2),
        "poll_interval_ms": poll_interval_ms if mode == "polling" else None,
    }


@click.command("kill-switch")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--trials", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--rate", type=click.FloatRange(min=10), default=1000.0, show_default=True, help="Orders/s.")
@click.option("--poll-interval-ms", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--dir", "base", type=click.Path(path_type=Path), default=Path("var/bench"), show_default=True)
def bench_kill_switch(as_json: bool, trials: int, rate: float, poll_interval_ms: int, base: Path) -> int:
    """t_visible -> gate closed over N trials (inotify, then the polling fallback) at ~1k orders/s."""
    base.mkdir(parents=True, exist_ok=True)
    inotify = run_mode("inotify", trials, rate, poll_interval_ms, base)
    polling = run_mode("polling", trials, rate, poll_interval_ms, base)
    headline = {k: inotify[k] for k in ("p50_ms", "p99_ms", "orders_after_switch", "trials")}
    result = headline | {"inotify": inotify, "polling": polling}
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        for row in (inotify, polling):
            click.echo(
                f"{row['watcher']:<8} p50 {row['p50_ms']:.3f} ms  p99 {row['p99_ms']:.3f} ms  "
                f"orders after switch {row['orders_after_switch']}  "
                f"(stopped by the per-order check alone: {row['orders_in_watcher_window']})  "
                f"check {row['check_us_p50']} us"
            )
    return 0
