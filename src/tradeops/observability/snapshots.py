"""Dashboard snapshots without Grafana: one PNG per panel of a dashboard document, drawn from the
panel's own PromQL queries (`query_range` against Prometheus over a window).

Grafana's variables take the values Grafana would give them: `$strategy` all strategies,
`$__rate_interval` max(4 x scrape interval, step + scrape interval).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tradeops.fsutil import atomic_write_bytes

MAX_POINTS = 300  # per series: a step of window / 300
MAX_SERIES = 50  # per panel: more would be unreadable (the rest are counted, not drawn)
PNG_SIZE = (9.0, 3.6)  # inches at 100 dpi: 900 x 360 pixels
_SLUG = re.compile(r"[^a-z0-9]+")


class PrometheusUnavailable(Exception):
    """Prometheus could not be asked at all (one line: the URL and why)."""


@dataclass(frozen=True)
class PanelSnapshot:
    title: str
    file: str
    queries: tuple[str, ...]
    series: int
    points: int
    problems: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "title": self.title,
            "file": self.file,
            "queries": list(self.queries),
            "series": self.series,
            "points": self.points,
            "problems": list(self.problems),
        }


def panels(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel with queries (rows are containers, not panels), in dashboard order."""
    for panel in document.get("panels") or []:
        if panel.get("targets"):
            yield panel
        yield from panels({"panels": panel.get("panels") or []})


def _expr(expr: str, rate_interval_s: int) -> str:
    values = {"$strategy": ".*", "$__rate_interval": f"{rate_interval_s}s", "${datasource}": "prometheus"}
    return re.sub(r"\$\{datasource\}|\$__rate_interval|\$strategy", lambda m: values[m.group(0)], expr)


def _legend(labels: dict[str, str], legend_format: str | None, fallback: str) -> str:
    """The target's Grafana legendFormat (`{{label}}` filled in), else the labels themselves."""
    if legend_format:
        return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), legend_format)
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    return ", ".join(f"{k}={v}" for k, v in sorted(shown.items())) or fallback


@dataclass
class _Client:
    base_url: str
    timeout_s: float
    asked: int = 0
    answered: int = 0

    def range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        try:
            response = httpx.get(
                f"{self.base_url.rstrip('/')}/api/v1/query_range",
                params={"query": expr, "start": start, "end": end, "step": step},
                timeout=self.timeout_s,
            )
        except httpx.HTTPError as exc:
            if self.asked == 0:
                raise PrometheusUnavailable(f"Prometheus {self.base_url}: not reachable ({exc})") from None
            raise ValueError(f"request failed ({exc})") from None
        self.asked += 1
        try:
            body = response.json()
        except ValueError:
            raise ValueError(f"HTTP {response.status_code}, not JSON") from None
        if not isinstance(body, dict):
            raise ValueError(f"HTTP {response.status_code}, not a Prometheus answer")
        if response.status_code != 200 or body.get("status") != "success":
            raise ValueError(str(body.get("error") or f"HTTP {response.status_code}")[:200])
        result = (body.get("data") or {}).get("result")
        if not isinstance(result, list):
            raise ValueError("answer without data.result")
        self.answered += 1
        return result


def _draw(
    title: str, lines: list[tuple[str, list[tuple[float, float]]]], window: tuple[float, float]
) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, ax = plt.subplots(figsize=PNG_SIZE, dpi=100)
    try:
        for legend, points in lines:
            ax.plot([t for t, _ in points], [v for _, v in points], linewidth=1.2, label=legend[:60])
        ax.set_xlim(window[0], window[1])
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda value, _pos: datetime.fromtimestamp(value, tz=UTC).strftime("%H:%M:%S"))
        )
        ax.set_xlabel("UTC", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        if not lines:
            ax.text(0.5, 0.5, "no data in the window", ha="center", va="center", transform=ax.transAxes)
        elif len(lines) <= 8:
            ax.legend(loc="upper left", fontsize=7)
        fig.autofmt_xdate()
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    finally:
        plt.close(fig)
    return buffer.getvalue()


def render_snapshots(
    document: dict[str, Any],
    prometheus_url: str,
    window: tuple[float, float],
    directory: Path,
    *,
    scrape_interval_s: float = 15.0,
    timeout_s: float = 10.0,
) -> list[PanelSnapshot]:
    """Write `NN-<title>.png` per panel into `directory`; PrometheusUnavailable when it cannot be
    reached or answers no query at all (nothing written then)."""
    start, end = window
    end = max(end, start + 1.0)
    step = max(1.0, math.ceil((end - start) / MAX_POINTS))
    rate_interval = int(max(4 * scrape_interval_s, step + scrape_interval_s))
    client = _Client(prometheus_url, timeout_s)
    shots: list[PanelSnapshot] = []
    images: list[tuple[str, bytes]] = []
    for index, panel in enumerate(panels(document), 1):
        title = str(panel.get("title") or f"panel {index}")
        targets = [t for t in panel["targets"] if t.get("expr")]
        queries = tuple(str(t["expr"]) for t in targets)
        lines: list[tuple[str, list[tuple[float, float]]]] = []
        problems: list[str] = []
        found = 0
        for target in targets:
            expr = str(target["expr"])
            try:
                result = client.range(_expr(expr, rate_interval), start, end, step)
            except ValueError as exc:
                problems.append(f"{expr}: {exc}")
                continue
            found += len(result)
            for series in result[: max(0, MAX_SERIES - len(lines))]:
                points = [(float(t), float(v)) for t, v in series.get("values", []) if v not in ("NaN",)]
                points = [(t, v) for t, v in points if math.isfinite(v)]
                lines.append((_legend(series.get("metric", {}), target.get("legendFormat"), expr), points))
        name = f"{index:02d}-{_SLUG.sub('-', title.lower()).strip('-')[:50]}.png"
        images.append((name, _draw(title, lines, (start, end))))
        points_total = sum(len(p) for _, p in lines)
        shots.append(PanelSnapshot(title, name, queries, found, points_total, tuple(problems)))
    if client.answered == 0:
        first = next((p for s in shots for p in s.problems), "no query answered")
        raise PrometheusUnavailable(f"Prometheus {prometheus_url}: no query succeeded ({first})")
    for name, data in images:
        atomic_write_bytes(directory / name, data)
    return shots
