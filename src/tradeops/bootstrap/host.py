"""The host adapters the ops use cases reach through bootstrap: the process sampler, the resource
monitor and the override archive's directory (ops may not import tradeops.host itself)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tradeops.config.models import ResourceLimits
from tradeops.host.override_archive import history_dir
from tradeops.host.process import ResourceSampler, start_resource_monitor
from tradeops.runtime.resources import ResourceMonitor, ResourceVerdict
from tradeops.runtime.stats import RuntimeStats

__all__ = ["override_history_dir", "process_sampler", "resource_monitor"]


def process_sampler(interval_s: float) -> ResourceSampler:
    """A sampler of this process every `interval_s` (start() it)."""
    return ResourceSampler(interval_s=interval_s)


def resource_monitor(
    stats: RuntimeStats,
    limits: ResourceLimits,
    on_sustained_breach: Callable[[ResourceVerdict], None] | None = None,
) -> ResourceMonitor:
    """The running process's resource monitor against the configured limits."""
    return start_resource_monitor(stats, limits, on_sustained_breach)


def override_history_dir(overrides_dir: str | Path) -> Path:
    """Where the override archive keeps removed override files."""
    return history_dir(overrides_dir)
