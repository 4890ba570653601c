"""Resource use of this process judged against `runtime.resource_limits` (the pure part; the
psutil probe and sampler are adapters in tradeops/host/process.py).

- `ResourceSummary`: peak and mean of each figure over a sampling window (the load test).
- `evaluate()`: the pure verdict: a ratio used/limit >= 1 is a breach (error), >= the configured
  headroom warning threshold a warning.
- `ResourceMonitor`: the long-running runtime's monitor; keeps `RuntimeStats.resources` current and
  calls `on_sustained_breach` once per breach episode that lasts longer than the configured minutes.

CPU % is the process figure: 100 means one full core (a 2-core machine can show up to 200).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from tradeops.config.models import ResourceLimits
from tradeops.runtime.stats import RuntimeStats

RESOURCES: tuple[str, ...] = ("cpu_percent", "memory_mb", "io_read_mb_s", "io_write_mb_s")
MB = 1024 * 1024
Status = Literal["ok", "warning", "error"]

log = logging.getLogger(__name__)


class ResourceFigures(Protocol):
    """Anything carrying the four budgeted figures (None: not measured on this platform)."""

    @property
    def cpu_percent(self) -> float: ...

    @property
    def memory_mb(self) -> float: ...

    @property
    def io_read_mb_s(self) -> float | None: ...

    @property
    def io_write_mb_s(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class ResourceSample:
    """One measurement over the interval since the previous one."""

    elapsed_s: float
    cpu_percent: float
    memory_mb: float
    io_read_mb_s: float | None
    io_write_mb_s: float | None


@dataclass(frozen=True, slots=True)
class ResourceVerdict:
    status: Status
    ratios: dict[str, float | None]
    headroom: dict[str, float | None]  # 1 - used/limit; None when the figure was not measured
    breaches: dict[str, float]  # resource -> ratio, for ratio >= 1
    warnings: dict[str, float]  # resource -> ratio, for threshold <= ratio < 1
    breach_seconds: float = 0.0  # filled by ResourceMonitor: how long the current breach has lasted

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "headroom": {k: _round(v) for k, v in self.headroom.items()},
            "breaches": {k: round(v, 4) for k, v in self.breaches.items()},
            "warnings": {k: round(v, 4) for k, v in self.warnings.items()},
            "breach_seconds": round(self.breach_seconds, 3),
        }


def limits_dict(limits: ResourceLimits) -> dict[str, float]:
    return {name: float(getattr(limits, name)) for name in RESOURCES}


def evaluate(usage: ResourceFigures, limits: ResourceLimits) -> ResourceVerdict:
    """Compare each figure with its limit; ratio >= 1 breaches, ratio >= threshold warns."""
    ratios: dict[str, float | None] = {}
    breaches: dict[str, float] = {}
    warnings: dict[str, float] = {}
    for name, limit in limits_dict(limits).items():
        used = getattr(usage, name)
        if used is None:
            ratios[name] = None
            continue
        ratio = used / limit
        ratios[name] = ratio
        if ratio >= 1.0:
            breaches[name] = ratio
        elif ratio >= limits.headroom_warning_threshold:
            warnings[name] = ratio
    status: Status = "error" if breaches else "warning" if warnings else "ok"
    headroom = {k: None if r is None else 1.0 - r for k, r in ratios.items()}
    return ResourceVerdict(status, ratios, headroom, breaches, warnings)


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


@dataclass(frozen=True, slots=True)
class PeakMean:
    peak: float | None
    mean: float | None

    def to_dict(self) -> dict[str, float | None]:
        return {"peak": _round(self.peak, 3), "mean": _round(self.mean, 3)}


@dataclass(frozen=True, slots=True)
class ResourceSummary:
    """Peak and mean of each figure over a sampling window.

    Budgets are sustained rates, so the verdict uses the window's mean CPU and I/O (exact, from
    the counters at both ends) and the peak RSS.
    """

    cpu_percent: PeakMean
    memory_mb: PeakMean
    io_read_mb_s: PeakMean
    io_write_mb_s: PeakMean
    samples: int
    duration_s: float
    io_source: str
    io_measured: bool
    series: tuple[ResourceSample, ...] = field(default=(), repr=False)

    def budget_figures(self) -> ResourceFigures:
        return _Figures(
            cpu_percent=self.cpu_percent.mean or 0.0,
            memory_mb=self.memory_mb.peak or 0.0,
            io_read_mb_s=self.io_read_mb_s.mean,
            io_write_mb_s=self.io_write_mb_s.mean,
        )

    def timeline(self, max_points: int = 200) -> dict[str, list[float]]:
        """Seconds since start, CPU % and RSS per sample, thinned to at most `max_points`."""
        step = max(1, math.ceil(len(self.series) / max_points))
        t = 0.0
        out: dict[str, list[float]] = {"t_s": [], "cpu_percent": [], "memory_mb": []}
        for i, sample in enumerate(self.series):
            t += sample.elapsed_s
            if i % step == 0 or i == len(self.series) - 1:
                out["t_s"].append(round(t, 3))
                out["cpu_percent"].append(round(sample.cpu_percent, 2))
                out["memory_mb"].append(round(sample.memory_mb, 2))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            **{name: getattr(self, name).to_dict() for name in RESOURCES},
            "samples": self.samples,
            "duration_s": round(self.duration_s, 3),
            "io_measured": self.io_measured,
            "io_source": self.io_source,
            "cpu_basis": "psutil process cpu_percent: 100 = one full core",
            "evaluated_on": {
                "cpu_percent": "mean",
                "memory_mb": "peak",
                "io_read_mb_s": "mean",
                "io_write_mb_s": "mean",
            },
            "timeline": self.timeline(),
        }


@dataclass(frozen=True, slots=True)
class _Figures:
    cpu_percent: float
    memory_mb: float
    io_read_mb_s: float | None
    io_write_mb_s: float | None


class ResourceMonitor:
    """Keep `stats.resources` current and report breaches that last too long.

    `probe` takes one sample (tradeops.host.process.ProcessProbe in production); `tick()` is what the
    thread started by `start()` calls every `limits.sample_interval_seconds`; tests call it directly
    with a fake probe and clock.
    """

    def __init__(
        self,
        stats: RuntimeStats,
        limits: ResourceLimits,
        *,
        probe: Callable[[], ResourceFigures],
        on_sustained_breach: Callable[[ResourceVerdict], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stats = stats
        self.limits = limits
        self.on_sustained_breach = on_sustained_breach
        self.clock = clock
        self._probe = probe
        self._breach_since: float | None = None
        self._reported = False
        self.last_verdict: ResourceVerdict | None = None
        self.episodes = 0  # sustained-breach episodes reported so far
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def sustained_after_s(self) -> float:
        return self.limits.sustained_breach_minutes * 60.0

    def _measure(self) -> ResourceFigures:
        return self._probe()

    def tick(self) -> ResourceVerdict:
        figures = self._measure()
        now = self.clock()
        verdict = evaluate(figures, self.limits)
        if verdict.breaches:
            if self._breach_since is None:
                self._breach_since = now
            breach_seconds = now - self._breach_since
        else:
            self._breach_since, self._reported, breach_seconds = None, False, 0.0
        verdict = replace(verdict, breach_seconds=breach_seconds)
        self._publish(figures, breach_seconds)
        self.last_verdict = verdict
        if verdict.breaches and breach_seconds > self.sustained_after_s and not self._reported:
            self._reported = True
            self.episodes += 1
            self._notify(verdict)
        return verdict

    def _publish(self, figures: ResourceFigures, breach_seconds: float) -> None:
        usage = self.stats.resources
        usage.cpu_percent = figures.cpu_percent
        usage.memory_mb = figures.memory_mb
        usage.io_read_mb_s = figures.io_read_mb_s or 0.0
        usage.io_write_mb_s = figures.io_write_mb_s or 0.0
        usage.breach_seconds = breach_seconds

    def _notify(self, verdict: ResourceVerdict) -> None:
        if self.on_sustained_breach is None:
            return
        try:
            self.on_sustained_breach(verdict)
        except Exception:  # the monitor must outlive a failing hook
            log.exception("on_sustained_breach hook failed")

    def start(self) -> ResourceMonitor:
        if self._thread is not None:
            raise RuntimeError("monitor already started")
        self._measure()  # prime the probe so the first tick covers one full interval
        self._thread = threading.Thread(target=self._loop, name="resource-monitor", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.limits.sample_interval_seconds):
            try:
                self.tick()
            except Exception:  # a failed sample (the probe's OS error) must not end the monitor
                log.exception("resource sample failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def summarize(
    samples: tuple[ResourceSample, ...],
    totals: tuple[float, float, float | None, float | None],
    io_source: str,
    io_measured: bool,
) -> ResourceSummary:
    """Peaks from `samples`; exact means from the counters' `totals` (duration, cpu, read, write)."""
    duration, cpu_mean, read_mean, write_mean = totals

    def peak(name: str) -> float | None:
        values = [v for s in samples if (v := getattr(s, name)) is not None]
        return max(values) if values else None

    memory = [s.memory_mb for s in samples]
    return ResourceSummary(
        cpu_percent=PeakMean(peak("cpu_percent"), cpu_mean),
        memory_mb=PeakMean(peak("memory_mb"), sum(memory) / len(memory) if memory else None),
        io_read_mb_s=PeakMean(peak("io_read_mb_s"), read_mean),
        io_write_mb_s=PeakMean(peak("io_write_mb_s"), write_mean),
        samples=len(samples),
        duration_s=duration,
        io_source=io_source,
        io_measured=io_measured,
        series=samples,
    )
