"""Compare two load-test reports (e.g. pre_rollback.json vs post_rollback.json) metric by metric.

A metric where lower is better regresses when the second report is worse by more than `threshold`
(relative) and by more than the metric's noise floor (absolute), so 0.1 -> 0.2 ms is not flagged.
Reports written by the origin tool (avg/max latency only) compare on the fields they have.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.table import Table

from tradeops.domain.errors import UserInputError

Better = Literal["lower", "info"]
STATUS_RANK = {"ok": 0, "warning": 1, "error": 2}


@dataclass(frozen=True)
class Metric:
    key: str  # dotted path in the report
    label: str
    better: Better
    noise_floor: float = 0.0
    fallback: str | None = None  # origin report field with the same meaning


METRICS: tuple[Metric, ...] = (
    Metric("schedules", "schedules", "info"),
    Metric("iterations", "iterations", "info"),
    Metric("signals_emitted", "signals emitted", "info"),
    Metric("orders", "orders", "info"),
    Metric("fills", "fills", "info"),
    Metric("latency_ms.p50", "latency p50 ms", "lower", 0.5),
    Metric("latency_ms.p95", "latency p95 ms", "lower", 0.5),
    Metric("latency_ms.p99", "latency p99 ms", "lower", 0.5),
    Metric("latency_ms.avg", "latency avg ms", "lower", 0.5, fallback="avg_latency_ms"),
    Metric("latency_ms.max", "latency max ms", "lower", 0.5, fallback="max_latency_ms"),
    Metric("drift_ms.p95", "drift p95 ms", "lower", 1.0),
    Metric("drift_ms.max", "drift max ms", "lower", 1.0),
    Metric("jitter_ms", "jitter ms", "lower", 0.5),
    Metric("resource_usage.cpu_percent.mean", "cpu % mean", "lower", 2.0),
    Metric("resource_usage.cpu_percent.peak", "cpu % peak", "lower", 10.0),
    Metric("resource_usage.memory_mb.peak", "memory MB peak", "lower", 16.0),
    Metric("resource_usage.io_read_mb_s.mean", "io read MB/s mean", "lower", 1.0),
    Metric("resource_usage.io_write_mb_s.mean", "io write MB/s mean", "lower", 1.0),
)


@dataclass(frozen=True)
class Row:
    metric: Metric
    pre: float | None
    post: float | None
    regression: bool

    @property
    def delta(self) -> float | None:
        return None if self.pre is None or self.post is None else self.post - self.pre

    @property
    def delta_ratio(self) -> float | None:
        if self.delta is None or not self.pre:
            return None
        return self.delta / abs(self.pre)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric.key,
            "pre": self.pre,
            "post": self.post,
            "delta": None if self.delta is None else round(self.delta, 4),
            "delta_ratio": None if self.delta_ratio is None else round(self.delta_ratio, 4),
            "regression": self.regression,
        }


@dataclass(frozen=True)
class Comparison:
    pre_path: str
    post_path: str
    pre: dict[str, Any]
    post: dict[str, Any]
    threshold: float
    rows: tuple[Row, ...]
    status_regression: bool

    @property
    def regressions(self) -> list[str]:
        found = [row.metric.key for row in self.rows if row.regression]
        return ["resource_status", *found] if self.status_regression else found

    def to_dict(self) -> dict[str, Any]:
        return {
            "pre": self.pre_path,
            "post": self.post_path,
            "threshold": self.threshold,
            "resource_status": {
                "pre": self.pre.get("resource_status"),
                "post": self.post.get("resource_status"),
            },
            "disabled_schedules": {
                "pre": self.pre.get("disabled_schedules", []),
                "post": self.post.get("disabled_schedules", []),
            },
            "rows": [row.to_dict() for row in self.rows],
            "regressions": self.regressions,
        }


def load_report(path: Path) -> dict[str, Any]:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserInputError(
            f"{path}: no such report; run `tradeops load-test run --output {path}`"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserInputError(f"{path}: not a readable JSON report ({exc})") from None
    if not isinstance(report, dict) or "resource_status" not in report or "schedules" not in report:
        raise UserInputError(f"{path}: not a load-test report (no schedules/resource_status)")
    return report


def lookup(report: dict[str, Any], key: str, fallback: str | None = None) -> float | None:
    node: Any = report
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if node is None and fallback is not None:
        node = report.get(fallback)
    return float(node) if isinstance(node, int | float) and not isinstance(node, bool) else None


def _regressed(metric: Metric, pre: float | None, post: float | None, threshold: float) -> bool:
    if metric.better == "info" or pre is None or post is None:
        return False
    worse_by = post - pre
    return worse_by > metric.noise_floor and worse_by > threshold * abs(pre)


def compare_reports(pre_path: Path, post_path: Path, threshold: float = 0.2) -> Comparison:
    if threshold < 0:
        raise UserInputError(f"--threshold {threshold:g}: must be >= 0 (0.2 = 20 %)")
    pre, post = load_report(pre_path), load_report(post_path)
    rows = []
    for metric in METRICS:
        a, b = lookup(pre, metric.key, metric.fallback), lookup(post, metric.key, metric.fallback)
        rows.append(Row(metric, a, b, _regressed(metric, a, b, threshold)))
    status_regression = STATUS_RANK.get(str(post.get("resource_status")), 0) > STATUS_RANK.get(
        str(pre.get("resource_status")), 0
    )
    return Comparison(str(pre_path), str(post_path), pre, post, threshold, tuple(rows), status_regression)


def _num(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f}" if value == int(value) and abs(value) >= 100 else f"{value:.3g}"


def render_comparison(comparison: Comparison, console: Console) -> None:
    table = Table(title=f"load test: {comparison.pre_path} -> {comparison.post_path}")
    for column in ("metric", "pre", "post", "delta", "delta %", ""):
        table.add_column(column, justify="left" if column == "metric" else "right")
    pre_status, post_status = comparison.pre.get("resource_status"), comparison.post.get("resource_status")
    flag = "[bold red]REGRESSION[/]" if comparison.status_regression else ""
    table.add_row("resource_status", str(pre_status), str(post_status), "", "", flag)
    for row in comparison.rows:
        ratio = row.delta_ratio
        table.add_row(
            row.metric.label,
            _num(row.pre),
            _num(row.post),
            "n/a" if row.delta is None else f"{row.delta:+.3g}",
            "" if ratio is None else f"{ratio:+.0%}",
            "[bold red]REGRESSION[/]" if row.regression else "",
        )
    console.print(table)
    pre_off = ", ".join(comparison.pre.get("disabled_schedules", [])) or "none"
    post_off = ", ".join(comparison.post.get("disabled_schedules", [])) or "none"
    console.print(f"disabled schedules: pre {pre_off}; post {post_off}")
    if comparison.regressions:
        console.print(
            f"[bold red]{len(comparison.regressions)} regression(s) beyond {comparison.threshold:.0%}:[/] "
            + ", ".join(comparison.regressions)
        )
    else:
        console.print(f"no regression beyond {comparison.threshold:.0%}")
