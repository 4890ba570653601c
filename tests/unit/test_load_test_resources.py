"""Resource evaluation, real sampling of this process, and the sustained-breach monitor."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest

from tradeops.config.models import ResourceLimits
from tradeops.host.process import ResourceSampler, start_resource_monitor
from tradeops.runtime.resources import ResourceMonitor, ResourceVerdict, evaluate
from tradeops.runtime.stats import RuntimeStats

LIMITS = ResourceLimits(
    cpu_percent=50.0,
    memory_mb=1000.0,
    io_read_mb_s=100.0,
    io_write_mb_s=10.0,
    headroom_warning_threshold=0.8,
    sustained_breach_minutes=10.0,
    sample_interval_seconds=5.0,
)


@dataclass
class Figures:
    cpu_percent: float = 10.0
    memory_mb: float = 100.0
    io_read_mb_s: float | None = 1.0
    io_write_mb_s: float | None = 1.0


def test_evaluate_ok_has_headroom_per_resource() -> None:
    verdict = evaluate(Figures(), LIMITS)
    assert verdict.status == "ok"
    assert verdict.breaches == {} and verdict.warnings == {}
    assert verdict.headroom == pytest.approx(
        {"cpu_percent": 0.8, "memory_mb": 0.9, "io_read_mb_s": 0.99, "io_write_mb_s": 0.9}
    )


@pytest.mark.parametrize(
    ("cpu", "status"),
    [(39.9, "ok"), (40.0, "warning"), (49.99, "warning"), (50.0, "error"), (80.0, "error")],
)
def test_evaluate_thresholds(cpu: float, status: str) -> None:
    verdict = evaluate(Figures(cpu_percent=cpu), LIMITS)
    assert verdict.status == status
    assert ("cpu_percent" in verdict.breaches) == (status == "error")
    assert ("cpu_percent" in verdict.warnings) == (status == "warning")
    assert verdict.headroom["cpu_percent"] == pytest.approx(1 - cpu / 50.0)


def test_evaluate_breach_outranks_warning_and_reports_ratios() -> None:
    verdict = evaluate(Figures(memory_mb=900.0, io_write_mb_s=15.0), LIMITS)
    assert verdict.status == "error"
    assert verdict.breaches == {"io_write_mb_s": pytest.approx(1.5)}
    assert verdict.warnings == {"memory_mb": pytest.approx(0.9)}


def test_evaluate_skips_unmeasured_io() -> None:
    verdict = evaluate(Figures(io_read_mb_s=None, io_write_mb_s=None), LIMITS)
    assert verdict.status == "ok"
    assert verdict.headroom["io_read_mb_s"] is None and verdict.ratios["io_write_mb_s"] is None


def _burn(stop: threading.Event) -> None:
    x = 0
    while not stop.is_set():
        x += 1


def test_sampler_measures_real_cpu_and_memory_of_this_process() -> None:
    stop = threading.Event()
    burner = threading.Thread(target=_burn, args=(stop,), daemon=True)
    sampler = ResourceSampler(interval_s=0.02).start()
    burner.start()
    try:
        time.sleep(0.3)
    finally:
        stop.set()
        burner.join()
    summary = sampler.stop()
    assert summary.samples >= 2
    assert summary.cpu_percent.mean is not None and summary.cpu_percent.mean > 0
    assert summary.cpu_percent.peak is not None and summary.cpu_percent.peak >= summary.cpu_percent.mean * 0.5
    assert summary.memory_mb.peak is not None and summary.memory_mb.peak > 10
    doc = summary.to_dict()
    assert set(doc["timeline"]) == {"t_s", "cpu_percent", "memory_mb"}
    assert doc["io_measured"] == (summary.io_read_mb_s.mean is not None)
    # A busy thread against a tight CPU budget is not "ok".
    tight = ResourceLimits(cpu_percent=1.0, headroom_warning_threshold=0.5)
    assert evaluate(summary.budget_figures(), tight).status in ("warning", "error")


def test_sampler_cannot_stop_before_start() -> None:
    with pytest.raises(RuntimeError):
        ResourceSampler().stop()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Probe:
    """Figures the test sets; stands in for the process counters."""

    def __init__(self) -> None:
        self.figures = Figures()

    def __call__(self) -> Figures:
        return self.figures


def _monitor(calls: list[ResourceVerdict]) -> tuple[ResourceMonitor, Probe, FakeClock, RuntimeStats]:
    stats, probe, clock = RuntimeStats(environment="test"), Probe(), FakeClock()
    monitor = ResourceMonitor(stats, LIMITS, on_sustained_breach=calls.append, probe=probe, clock=clock)
    return monitor, probe, clock, stats


def test_monitor_publishes_figures_to_runtime_stats() -> None:
    monitor, probe, _clock, stats = _monitor([])
    probe.figures = Figures(cpu_percent=12.5, memory_mb=321.0, io_read_mb_s=2.0, io_write_mb_s=3.0)
    verdict = monitor.tick()
    assert verdict.status == "ok"
    assert (stats.resources.cpu_percent, stats.resources.memory_mb) == (12.5, 321.0)
    assert (stats.resources.io_read_mb_s, stats.resources.io_write_mb_s) == (2.0, 3.0)
    assert stats.resources.breach_seconds == 0.0


def test_sustained_breach_calls_back_once_per_episode() -> None:
    calls: list[ResourceVerdict] = []
    monitor, probe, clock, stats = _monitor(calls)
    probe.figures = Figures(cpu_percent=75.0)
    for _ in range(120):  # exactly 10 minutes of breach in 5 s steps: not yet "longer than"
        monitor.tick()
        clock.now += 5.0
    assert calls == []
    assert stats.resources.breach_seconds == pytest.approx(595.0)
    monitor.tick()  # 600 s
    clock.now += 5.0
    monitor.tick()  # 605 s > 10 minutes
    assert len(calls) == 1
    assert calls[0].breaches == {"cpu_percent": pytest.approx(1.5)}
    assert calls[0].breach_seconds == pytest.approx(605.0)
    for _ in range(50):  # the same episode continues: no second call
        clock.now += 5.0
        monitor.tick()
    assert len(calls) == 1 and monitor.episodes == 1


def test_recovery_resets_the_episode() -> None:
    calls: list[ResourceVerdict] = []
    monitor, probe, clock, stats = _monitor(calls)
    probe.figures = Figures(memory_mb=2000.0)
    for _ in range(125):
        monitor.tick()
        clock.now += 5.0
    assert len(calls) == 1
    probe.figures = Figures()  # one sample back within limits breaks the episode
    monitor.tick()
    assert stats.resources.breach_seconds == 0.0
    probe.figures = Figures(memory_mb=2000.0)
    for _ in range(100):  # a new breach, shorter than the limit
        clock.now += 5.0
        monitor.tick()
    assert len(calls) == 1
    for _ in range(30):
        clock.now += 5.0
        monitor.tick()
    assert len(calls) == 2 and monitor.episodes == 2


def test_breach_interrupted_by_a_warning_starts_over() -> None:
    calls: list[ResourceVerdict] = []
    monitor, probe, clock, _stats = _monitor(calls)
    for step in range(200):
        probe.figures = Figures(cpu_percent=45.0 if step % 100 == 99 else 60.0)
        monitor.tick()
        clock.now += 5.0
    assert calls == []  # never 10 minutes without a break


def test_failing_hook_does_not_stop_monitoring() -> None:
    stats, probe, clock = RuntimeStats(environment="test"), Probe(), FakeClock()

    def explode(verdict: ResourceVerdict) -> None:
        raise RuntimeError("hook failed")

    monitor = ResourceMonitor(stats, LIMITS, on_sustained_breach=explode, probe=probe, clock=clock)
    probe.figures = Figures(cpu_percent=99.0)
    for _ in range(130):
        monitor.tick()
        clock.now += 5.0
    assert monitor.episodes == 1
    assert monitor.last_verdict is not None and monitor.last_verdict.status == "error"


def test_start_resource_monitor_samples_this_process_until_stopped() -> None:
    stats = RuntimeStats(environment="test")
    limits = ResourceLimits(sample_interval_seconds=0.02)
    monitor = start_resource_monitor(stats, limits)
    try:
        deadline = time.monotonic() + 5.0
        while stats.resources.memory_mb == 0.0 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        monitor.stop()
    assert stats.resources.memory_mb > 10
    assert monitor.last_verdict is not None
