"""How many schedules this machine sustains: the real scheduler in real time (ReplayClock, speed 1),
every schedule at a 1 s cadence on 4 symbols, judged on p95 drift and mean CPU of this process.

The search doubles the schedule count until a candidate fails, then bisects between the last pass
and the first failure; each candidate runs for `window_s` seconds after `warmup_s` unmeasured.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tradeops.bootstrap.engine import RunOptions, build_runtime
from tradeops.config.models import AppConfig
from tradeops.host.process import ResourceSampler
from tradeops.ops.loadtest.derive import derive_config
from tradeops.ops.loadtest.runner import CycleTimer, Timings
from tradeops.runtime.scheduler import SchedulerReport

BENCH_SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT")
CADENCE_S = 1.0


@dataclass(frozen=True)
class CapacityCriteria:
    max_p95_drift_ms: float = 50.0
    max_cpu_percent: float = 65.0
    decision_log: bool = True  # False measures the scheduler without the signed audit trail
    signing_key: Any = None  # the bench's own key (None: the configured one)


@dataclass(frozen=True)
class Candidate:
    schedules: int
    p95_drift_ms: float
    max_drift_ms: float
    cpu_percent: float
    cycles: int
    ok: bool
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "schedules": self.schedules,
            "p95_drift_ms": round(self.p95_drift_ms, 3),
            "max_drift_ms": round(self.max_drift_ms, 3),
            "cpu_percent": round(self.cpu_percent, 2),
            "cycles": self.cycles,
            "ok": self.ok,
            "seconds": round(self.seconds, 2),
        }


def bench_config(cfg: AppConfig, schedules: int) -> AppConfig:
    derived = derive_config(cfg, schedules, signals=4).cfg
    sched = derived.scheduler()
    fast = {
        name: s.model_copy(
            update={"cadence_seconds": CADENCE_S, "max_drift_seconds": 1.0, "symbols": BENCH_SYMBOLS}
        )
        for name, s in sched.schedules.items()
    }
    runtime = derived.runtime.model_copy(
        update={
            "multi_strategy_schedulers": {
                **derived.runtime.multi_strategy_schedulers,
                derived.runtime.default_scheduler: sched.model_copy(update={"schedules": fast}),
            }
        }
    )
    return derived.model_copy(update={"runtime": runtime})


def measure(
    cfg: AppConfig,
    schedules: int,
    criteria: CapacityCriteria,
    window_s: float,
    warmup_s: float,
    workdir: Path,
) -> Candidate:
    """Run `schedules` schedules in real time and judge the measured window."""
    started = time.perf_counter()
    options = RunOptions(
        state="memory",
        kill_switch=False,
        speed=1.0,
        synthetic_bars=600,
        decision_log=criteria.decision_log,
        signing_key=criteria.signing_key,
        decision_log_path=str(workdir / f"decisions-{schedules}-{time.monotonic_ns()}.jsonl"),
    )
    runtime = build_runtime(options, bench_config(cfg, schedules))
    timings = Timings()
    CycleTimer(runtime.engine, timings)
    sampler = ResourceSampler(interval_s=0.25)
    measure_from = runtime.clock.now_ms() + int(warmup_s * 1000)

    def on_step(now_ms: int, report: SchedulerReport) -> None:
        if now_ms < measure_from:
            timings.lateness_s.clear()
        elif not sampler.running:
            sampler.start()

    runtime.scheduler.on_step = on_step
    try:
        report = asyncio.run(runtime.scheduler.run(until_ms=measure_from + int(window_s * 1000)))
        usage = sampler.stop() if sampler.running else None
    finally:
        runtime.close()
    lateness_ms = np.asarray(timings.lateness_s or [0.0]) * 1000.0
    p95 = float(np.percentile(lateness_ms, 95))
    cpu = (usage.cpu_percent.mean or 0.0) if usage else 0.0
    return Candidate(
        schedules=schedules,
        p95_drift_ms=p95,
        max_drift_ms=float(lateness_ms.max()),
        cpu_percent=cpu,
        cycles=report.cycles,
        ok=p95 <= criteria.max_p95_drift_ms and cpu <= criteria.max_cpu_percent,
        seconds=time.perf_counter() - started,
    )


def find_max_schedules(
    cfg: AppConfig,
    criteria: CapacityCriteria | None = None,
    *,
    start: int = 64,
    limit: int = 8192,
    window_s: float = 6.0,
    warmup_s: float = 2.0,
    precision: float = 0.05,
    on_candidate: Callable[[Candidate], None] | None = None,
) -> dict[str, Any]:
    """Largest schedule count meeting `criteria`, to within `precision` (relative)."""
    criteria = criteria or CapacityCriteria(max_cpu_percent=cfg.runtime.resource_limits.cpu_percent)
    candidates: list[Candidate] = []
    with tempfile.TemporaryDirectory(prefix="tradeops-bench-scheduler-") as tmp:

        def trial(count: int) -> Candidate:
            result = measure(cfg, count, criteria, window_s, warmup_s, Path(tmp))
            candidates.append(result)
            if on_candidate is not None:
                on_candidate(result)
            return result

        best: Candidate | None = None
        count, failed_at = start, None
        while count <= limit:
            result = trial(count)
            if not result.ok:
                failed_at = count
                break
            best, count = result, count * 2
        low = best.schedules if best else 0
        high = failed_at if failed_at is not None else low
        while high - low > max(1, int(low * precision)):
            mid = (low + high) // 2
            result = trial(mid)
            if result.ok:
                best, low = result, mid
            else:
                high = mid
    return {
        "max_schedules": best.schedules if best else 0,
        "p95_drift_ms_at_max": round(best.p95_drift_ms, 3) if best else None,
        "cpu_percent_at_max": round(best.cpu_percent, 2) if best else None,
        "criteria": {
            "cadence_seconds": CADENCE_S,
            "symbols_per_schedule": len(BENCH_SYMBOLS),
            "max_p95_drift_ms": criteria.max_p95_drift_ms,
            "max_cpu_percent": criteria.max_cpu_percent,
            "decision_log": criteria.decision_log,
            "window_seconds": window_s,
            "warmup_seconds": warmup_s,
        },
        "candidates": [c.to_dict() for c in candidates],
    }
