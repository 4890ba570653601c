"""The load-test report: JSON document (the origin's `scheduler_profile.json` fields kept) and table."""

from __future__ import annotations

import hashlib
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from tradeops import __version__
from tradeops.runtime.resources import RESOURCES

REPORT_SCHEMA = "tradeops.load_test/1"


def percentiles_ms(seconds: Sequence[float], points: Sequence[int] = (50, 95, 99)) -> dict[str, float]:
    """p50/p95/.. (linear interpolation), max, min and avg, in milliseconds."""
    if not seconds:
        return {**{f"p{p}": 0.0 for p in points}, "max": 0.0, "min": 0.0, "avg": 0.0}
    values = np.asarray(seconds, dtype=float) * 1000.0
    out = {f"p{p}": round(float(np.percentile(values, p)), 4) for p in points}
    out.update(
        max=round(float(values.max()), 4),
        min=round(float(values.min()), 4),
        avg=round(float(values.mean()), 4),
    )
    return out


def versions() -> dict[str, str]:
    return {
        "tradeops": __version__,
        "python": platform.python_version(),
        "platform": f"{platform.system()}-{platform.release()}-{platform.machine()}",
        "implementation": sys.implementation.name,
    }


def file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def utc_now_iso() -> str:
    return datetime.now(tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class ScheduleFigures:
    name: str
    strategy: str
    copy_of: str
    cycles: int = 0
    signals: int = 0
    orders: int = 0
    fills: int = 0
    denials: int = 0
    disabled: bool = False
    cycle_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "copy_of": self.copy_of,
            "cycles": self.cycles,
            "signals": self.signals,
            "orders": self.orders,
            "fills": self.fills,
            "denials": self.denials,
            "disabled": self.disabled,
            "cycle_ms": self.cycle_ms,
        }


@dataclass
class LoadTestReport:
    schedules: int
    iterations: int
    signals_emitted: int
    orders: int
    fills: int
    denials: int
    latency_ms: dict[str, float]
    drift_ms: dict[str, float]
    jitter_ms: float
    resource_usage: dict[str, Any]
    resource_limits: dict[str, float]
    headroom: dict[str, float | None]
    resource_status: str
    breaches: dict[str, float]
    warnings: dict[str, float]
    disabled_schedules: list[str]
    override_active: bool
    per_schedule: dict[str, ScheduleFigures]
    settings: dict[str, Any]
    config_sha256: str | None
    generated_at: str = field(default_factory=utc_now_iso)
    versions: dict[str, str] = field(default_factory=versions)

    @property
    def exit_code(self) -> int:
        return 1 if self.resource_status == "error" else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": REPORT_SCHEMA,
            "schedules": self.schedules,
            "iterations": self.iterations,
            "signals_emitted": self.signals_emitted,
            "orders": self.orders,
            "fills": self.fills,
            "denials": self.denials,
            "avg_latency_ms": self.latency_ms["avg"],
            "max_latency_ms": self.latency_ms["max"],
            "latency_ms": self.latency_ms,
            "drift_ms": self.drift_ms,
            "jitter_ms": self.jitter_ms,
            "resource_usage": self.resource_usage,
            "resource_limits": self.resource_limits,
            "headroom": self.headroom,
            "resource_status": self.resource_status,
            "breaches": self.breaches,
            "warnings": self.warnings,
            "disabled_schedules": self.disabled_schedules,
            "override_active": self.override_active,
            "per_schedule": {n: s.to_dict() for n, s in self.per_schedule.items()},
            "settings": self.settings,
            "generated_at": self.generated_at,
            "versions": self.versions,
            "config_sha256": self.config_sha256,
        }


STATUS_STYLE = {"ok": "green", "warning": "yellow", "error": "bold red"}


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def render_report(report: dict[str, Any], console: Console) -> None:
    """Summary, resources against limits, and per-schedule figures, from the report's JSON form."""
    status = report["resource_status"]
    lat, drift = report["latency_ms"], report["drift_ms"]
    console.print(
        f"[bold]scheduler load test[/]: {report['schedules']} schedules x {report['iterations']} iterations, "
        f"signals {report['signals_emitted']}, orders {report['orders']}, fills {report['fills']}; "
        f"status [{STATUS_STYLE.get(status, 'white')}]{status}[/]"
    )
    console.print(
        f"iteration latency ms p50 {lat['p50']:.3f} p95 {lat['p95']:.3f} p99 {lat['p99']:.3f} "
        f"max {lat['max']:.3f}; drift ms p95 {drift['p95']:.3f} max {drift['max']:.3f}; "
        f"jitter {report['jitter_ms']:.3f} ms"
    )
    resources = Table(title="resources (measured) vs runtime.resource_limits")
    for column in ("resource", "peak", "mean", "evaluated", "limit", "headroom", "state"):
        resources.add_column(column, justify="left" if column == "resource" else "right")
    usage, limits = report["resource_usage"], report["resource_limits"]
    for name in RESOURCES:
        basis = usage["evaluated_on"][name]
        headroom = report["headroom"].get(name)
        state = "breach" if name in report["breaches"] else "warning" if name in report["warnings"] else "ok"
        if headroom is None:
            state = "not measured"
        resources.add_row(
            name,
            _fmt(usage[name]["peak"]),
            _fmt(usage[name]["mean"]),
            basis,
            f"{limits[name]:g}",
            "n/a" if headroom is None else f"{headroom:.0%}",
            state,
        )
    console.print(resources)
    schedules = Table(title="schedules (strategy kind and cycle times in the JSON report)")
    schedules.add_column("schedule", no_wrap=True)
    for column in ("cycles", "signals", "orders", "fills", "avg ms", "state"):
        schedules.add_column(column, justify="right")
    for name, row in report["per_schedule"].items():
        schedules.add_row(
            name,
            str(row["cycles"]),
            str(row["signals"]),
            str(row["orders"]),
            str(row["fills"]),
            _fmt(row["cycle_ms"].get("avg"), 3),
            "disabled" if row["disabled"] else "active",
        )
    console.print(schedules)
    if report["override_active"]:
        console.print("[bold red]global kill switch / override active: no schedule ran[/]")
