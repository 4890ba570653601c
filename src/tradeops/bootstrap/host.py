"""The host adapters the operations wing uses (process sampling, the override archive), built here so
that ops never imports `tradeops.host` itself (an import-linter contract holds it)."""

from __future__ import annotations

from pathlib import Path

from tradeops.config.models import ResourceLimits
from tradeops.host.override_archive import history_dir
from tradeops.host.process import ResourceSampler, start_resource_monitor
from tradeops.runtime.resources import ResourceMonitor
from tradeops.runtime.stats import RuntimeStats


def process_sampler(interval_s: float) -> ResourceSampler:
    """A sampler of this process (CPU, RSS), started by the caller."""
    return ResourceSampler(interval_s=interval_s)


def resource_monitor(stats: RuntimeStats, limits: ResourceLimits) -> ResourceMonitor:
    """The running scheduler's resource monitor, already sampling."""
    return start_resource_monitor(stats, limits)


def override_history_dir(overrides_dir: Path) -> Path:
    """Where superseded override files are archived."""
    return history_dir(overrides_dir)
