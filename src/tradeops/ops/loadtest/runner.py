"""Run the real scheduler (strategies, risk gate, paper fills, decision log) with N schedules for a
number of iterations while sampling this process's real CPU, memory and I/O.

One iteration is one scheduler step in which every schedule runs once (`force=True`), one bar of
simulated time after the previous one. Iterations are paced at `tick_ms` of wall time, so the CPU
figure is the share of each tick the scheduler needs, as in a live run; `tick_ms=0` runs them back
to back (a stress run: the process then keeps a core busy by design).
"""

from __future__ import annotations

import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradeops.bootstrap.engine import RunOptions, Runtime, build_runtime
from tradeops.bootstrap.host import process_sampler
from tradeops.config.live import paper_stand_in
from tradeops.config.models import AppConfig, ResourceLimits
from tradeops.domain.errors import UserInputError
from tradeops.domain.events import DenialReason
from tradeops.fsutil import atomic_write_json
from tradeops.ops.loadtest.derive import DerivedSchedules, derive_config
from tradeops.ops.loadtest.report import LoadTestReport, ScheduleFigures, file_sha256, percentiles_ms
from tradeops.runtime.engine import CycleOutcome, TradingEngine
from tradeops.runtime.resources import ResourceSummary, evaluate, limits_dict
from tradeops.runtime.scheduler import Due, SchedulerReport

DEFAULT_TICK_MS = 250
REPORT_DIR = Path("logs/load_tests")
LATEST_REPORT = REPORT_DIR / "latest.json"
WARMUP_ALLOWANCE_BARS = 1000  # synthetic bars beyond the iterations, for the longest warmup

ProgressCallback = Callable[[int, int], None]


@dataclass
class Timings:
    iterations_s: list[float] = field(default_factory=list)
    drift_s: list[float] = field(default_factory=list)
    lateness_s: list[float] = field(default_factory=list)  # as the scheduler's clock reported it
    cycles_s: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    held_back: set[str] = field(default_factory=set)  # copies of a disabled schedule
    due_at: float = 0.0


class CycleTimer:
    """Times each schedule's cycle and its drift (cycle start minus the iteration's due time), and
    keeps the lateness the scheduler's clock passed in (real on a paced clock, 0 in instant replay).

    Installed on the engine instance, so the scheduler's own call path is what gets measured.
    """

    def __init__(self, engine: TradingEngine, timings: Timings) -> None:
        self._run_cycle = engine.run_cycle
        self._timings = timings
        engine.run_cycle = self  # type: ignore[method-assign]

    def __call__(self, name: str, now_ms: int, lateness_s: float = 0.0) -> CycleOutcome:
        started = time.perf_counter()
        outcome = self._run_cycle(name, now_ms, lateness_s)
        if outcome.skipped is None:
            self._timings.cycles_s[name].append(time.perf_counter() - started)
            self._timings.drift_s.append(max(0.0, started - self._timings.due_at))
            self._timings.lateness_s.append(lateness_s)
        return outcome


def _check_flags(schedules: int, iterations: int, signals: int, tick_ms: float) -> None:
    for flag, value in (("--schedules", schedules), ("--iterations", iterations), ("--signals", signals)):
        if value < 1:
            raise UserInputError(f"{flag} {value}: must be at least 1")
    if tick_ms < 0:
        raise UserInputError(f"--tick-ms {tick_ms:g}: must be >= 0 (0 runs iterations back to back)")


class _CopyGate:
    """Copies of a schedule follow the operator state of the schedule they copy (disabled with it)."""

    def __init__(self, runtime: Runtime, derived: DerivedSchedules) -> None:
        self.gate = runtime.engine.gate
        self.all_dues: list[Due] = list(runtime.scheduler.dues)
        self.copies = {n: b for n, b in derived.base_of.items() if n != b}

    def held_back(self) -> set[str]:
        if self.gate is None or not self.copies:
            return set()
        disabled_bases = {
            base
            for base in set(self.copies.values())
            if self.gate.allows_new_order(base) is DenialReason.STRATEGY_DISABLED
        }
        return {n for n, b in self.copies.items() if b in disabled_bases}

    def apply(self, runtime: Runtime, timings: Timings) -> None:
        held = self.held_back()
        timings.held_back |= held
        runtime.scheduler.dues = [d for d in self.all_dues if d.name not in held]


def _drive(
    runtime: Runtime,
    derived: DerivedSchedules,
    iterations: int,
    tick_ms: float,
    sample_interval_s: float,
    on_progress: ProgressCallback | None,
) -> tuple[Timings, ResourceSummary]:
    series = runtime.series
    interval_ms = series.interval_ms(*series.instruments()[0])
    start_ms = runtime.clock.now_ms()
    available = (runtime.end_ms - start_ms) // interval_ms + 1
    if available < iterations:
        source = runtime.options.data or "synthetic market"
        raise UserInputError(
            f"--data {source}: only {available} bars after warmup; "
            f"use --iterations {max(1, available)} or less"
        )
    timings = Timings()
    CycleTimer(runtime.engine, timings)
    copies = _CopyGate(runtime, derived)
    report = SchedulerReport(stopped_by="load_test")
    tick_s = tick_ms / 1000.0
    sampler = process_sampler(sample_interval_s).start()
    t0 = time.perf_counter()
    try:
        for i in range(iterations):
            due = t0 + i * tick_s
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            started = time.perf_counter()
            timings.due_at = due if tick_s > 0 else started
            copies.apply(runtime, timings)
            now_ms = start_ms + i * interval_ms
            runtime.clock.set(now_ms)
            runtime.scheduler.step(now_ms, report, force=True)
            timings.iterations_s.append(time.perf_counter() - started)
            if on_progress is not None:
                on_progress(i + 1, iterations)
        runtime.engine.publish_stats(force=True)
        runtime.sink.flush()
        rest = t0 + iterations * tick_s - time.perf_counter()
        if rest > 0:  # the window covers whole ticks, idle part included
            time.sleep(rest)
    finally:
        summary = sampler.stop()
    return timings, summary


def _schedule_figures(
    runtime: Runtime, derived: DerivedSchedules, timings: Timings
) -> dict[str, ScheduleFigures]:
    sched = derived.cfg.scheduler()
    rows = {}
    for name, base in derived.base_of.items():
        stats = runtime.stats.strategies[name]
        cycle_ms = percentiles_ms(timings.cycles_s.get(name, []), (50, 95))
        rows[name] = ScheduleFigures(
            name=name,
            strategy=sched.strategy_of(name),
            copy_of=base,
            cycles=stats.cycles,
            signals=stats.signals,
            orders=stats.orders,
            fills=stats.fills,
            denials=sum(stats.denials.values()),
            disabled=stats.disabled or name in timings.held_back,
            cycle_ms={k: cycle_ms[k] for k in ("p50", "p95", "max", "avg")},
        )
    return rows


def run_load_test(
    cfg: AppConfig,
    *,
    config_path: Path,
    environment: str,
    schedules: int,
    iterations: int,
    signals: int,
    tick_ms: float = DEFAULT_TICK_MS,
    data: str | None = None,
    limits: ResourceLimits | None = None,
    decision_log_path: str | None = None,
    sample_interval_s: float = 0.05,
    on_progress: ProgressCallback | None = None,
) -> LoadTestReport:
    """Load-test the scheduler with `schedules` schedules and judge the measured resources."""
    _check_flags(schedules, iterations, signals, tick_ms)
    derived = derive_config(paper_stand_in(cfg, environment), schedules, signals)
    limits = limits or cfg.runtime.resource_limits
    with tempfile.TemporaryDirectory(prefix="tradeops-load-test-") as tmp:
        options = RunOptions(
            environment=environment,
            config_path=config_path,
            data=data,
            synthetic_bars=iterations + WARMUP_ALLOWANCE_BARS,
            state="memory",
            decision_log_path=decision_log_path or str(Path(tmp) / "decision_log.jsonl"),
            kill_switch=True,  # honour the environment's overrides and disabled strategies
        )
        runtime = build_runtime(options, derived.cfg)
        try:
            timings, usage = _drive(runtime, derived, iterations, tick_ms, sample_interval_s, on_progress)
            per_schedule = _schedule_figures(runtime, derived, timings)
            override_active = runtime.stats.override_active
        finally:
            runtime.close()
    verdict = evaluate(usage.budget_figures(), limits)
    latency = percentiles_ms(timings.iterations_s)
    settings: dict[str, Any] = {
        "iterations": iterations,
        "schedules": schedules,
        "signals_per_snapshot": signals,
        "tick_ms": tick_ms,
        "environment": environment,
        "config": str(config_path),
        "scheduler": derived.cfg.runtime.default_scheduler,
        "data": data or "synthetic",
        "state": "memory",
        "kill_switch": True,
        "decision_log": decision_log_path or "temporary file (discarded)",
        "sample_interval_s": sample_interval_s,
        "cpu_budget_percent": limits.cpu_percent,
        "memory_budget_mb": limits.memory_mb,
        "headroom_warning_threshold": limits.headroom_warning_threshold,
    }
    return LoadTestReport(
        schedules=schedules,
        iterations=iterations,
        signals_emitted=sum(s.signals for s in per_schedule.values()),
        orders=sum(s.orders for s in per_schedule.values()),
        fills=sum(s.fills for s in per_schedule.values()),
        denials=sum(s.denials for s in per_schedule.values()),
        latency_ms=latency,
        drift_ms={k: v for k, v in percentiles_ms(timings.drift_s, (95,)).items() if k in ("p95", "max")},
        jitter_ms=round(latency["max"] - latency["min"], 4),
        resource_usage=usage.to_dict(),
        resource_limits={
            **limits_dict(limits),
            "headroom_warning_threshold": limits.headroom_warning_threshold,
        },
        headroom={k: None if v is None else round(v, 4) for k, v in verdict.headroom.items()},
        resource_status=verdict.status,
        breaches={k: round(v, 4) for k, v in verdict.breaches.items()},
        warnings={k: round(v, 4) for k, v in verdict.warnings.items()},
        disabled_schedules=[n for n, s in per_schedule.items() if s.disabled],
        override_active=override_active,
        per_schedule=per_schedule,
        settings=settings,
        config_sha256=file_sha256(config_path),
    )


def save_report(report: dict[str, Any], output: Path | None, latest: Path = LATEST_REPORT) -> list[Path]:
    """Write the report atomically to `output` (when given) and always to logs/load_tests/latest.json."""
    written = [atomic_write_json(output, report)] if output is not None else []
    if output is None or output.resolve() != latest.resolve():
        written.append(atomic_write_json(latest, report))
    return written
