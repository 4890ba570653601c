"""The process sampler (psutil): CPU %, RSS and I/O rates of this process, for the load test's
window and the long-running runtime's resource monitor (runtime/resources.py judges them).

CPU % is psutil's process figure: 100 means one full core (a 2-core machine can show up to 200).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psutil

from tradeops.config.models import ResourceLimits
from tradeops.runtime.resources import (
    MB,
    ResourceMonitor,
    ResourceSample,
    ResourceSummary,
    ResourceVerdict,
    summarize,
)
from tradeops.runtime.stats import RuntimeStats


class ProcessProbe:
    """Reads one process's counters; each `sample()` covers the interval since the previous call."""

    def __init__(self, process: psutil.Process | None = None, clock: Callable[[], float] = time.monotonic):
        self.process = process or psutil.Process()
        self.clock = clock
        self.io_available, self.io_note = self._probe_io()
        self._started = self._last_t = clock()
        self._first_cpu = self._last_cpu = self._cpu_seconds()
        self._first_io = self._last_io = self._io_bytes()

    def _probe_io(self) -> tuple[bool, str]:
        try:
            self.process.io_counters()
        except (AttributeError, NotImplementedError, psutil.AccessDenied) as exc:
            reason = type(exc).__name__ if not str(exc) else str(exc)
            return False, f"I/O not measured: psutil io_counters unavailable here ({reason})"
        return True, "psutil io_counters read_bytes/write_bytes (storage-level bytes)"

    def _cpu_seconds(self) -> float:
        times = self.process.cpu_times()
        return float(times.user + times.system)

    def _io_bytes(self) -> tuple[int, int]:
        if not self.io_available:
            return (0, 0)
        counters = self.process.io_counters()
        return int(counters.read_bytes), int(counters.write_bytes)

    def memory_mb(self) -> float:
        return float(self.process.memory_info().rss) / MB

    def sample(self) -> ResourceSample:
        now, cpu, io = self.clock(), self._cpu_seconds(), self._io_bytes()
        elapsed = max(now - self._last_t, 1e-9)
        sample = ResourceSample(
            elapsed_s=elapsed,
            cpu_percent=100.0 * (cpu - self._last_cpu) / elapsed,
            memory_mb=self.memory_mb(),
            io_read_mb_s=(io[0] - self._last_io[0]) / MB / elapsed if self.io_available else None,
            io_write_mb_s=(io[1] - self._last_io[1]) / MB / elapsed if self.io_available else None,
        )
        self._last_t, self._last_cpu, self._last_io = now, cpu, io
        return sample

    def totals(self) -> tuple[float, float, float | None, float | None]:
        """Exact means since construction: (duration s, cpu %, read MB/s, write MB/s)."""
        elapsed = max(self._last_t - self._started, 1e-9)
        cpu = 100.0 * (self._last_cpu - self._first_cpu) / elapsed
        if not self.io_available:
            return elapsed, cpu, None, None
        read = (self._last_io[0] - self._first_io[0]) / MB / elapsed
        write = (self._last_io[1] - self._first_io[1]) / MB / elapsed
        return elapsed, cpu, read, write


class ResourceSampler:
    """Sample this process every `interval_s` on a daemon thread between start() and stop()."""

    def __init__(self, process: psutil.Process | None = None, interval_s: float = 0.05) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.process = process or psutil.Process()
        self.interval_s = interval_s
        self._probe: ProcessProbe | None = None
        self._samples: list[ResourceSample] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._stop.is_set()

    def start(self) -> ResourceSampler:
        if self._thread is not None:
            raise RuntimeError("sampler already started")
        self._probe = ProcessProbe(self.process)
        self._thread = threading.Thread(target=self._loop, name="resource-sampler", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._take()

    def _take(self) -> None:
        assert self._probe is not None
        with self._lock:
            self._samples.append(self._probe.sample())

    def stop(self) -> ResourceSummary:
        if self._thread is None or self._probe is None:
            raise RuntimeError("sampler not started")
        self._stop.set()
        self._thread.join()
        self._take()  # close the window exactly at stop()
        return summarize(
            tuple(self._samples), self._probe.totals(), self._probe.io_note, self._probe.io_available
        )

    def __enter__(self) -> ResourceSampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.running:
            self.stop()


def start_resource_monitor(
    stats: RuntimeStats,
    limits: ResourceLimits,
    on_sustained_breach: Callable[[ResourceVerdict], None] | None = None,
) -> ResourceMonitor:
    """Start sampling this process every `limits.sample_interval_seconds`; call `.stop()` on shutdown."""
    return ResourceMonitor(
        stats, limits, probe=ProcessProbe().sample, on_sustained_breach=on_sustained_breach
    ).start()
