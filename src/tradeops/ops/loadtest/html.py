"""A self-contained HTML page for a load-test comparison: tables plus inline SVG charts."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from tradeops.fsutil import atomic_write_text
from tradeops.ops.loadtest.compare import Comparison, lookup

PRE_COLOUR, POST_COLOUR, LIMIT_COLOUR = "#4C78A8", "#F58518", "#D62728"
WIDTH, HEIGHT, PAD = 520, 240, 40


def _text(x: float, y: float, content: str, size: int = 11, anchor: str = "start", fill: str = "#222") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}">'
        f"{escape(content)}</text>"
    )


def _scale(values: Sequence[float | None], limit: float | None) -> float:
    top = max([v for v in values if v is not None] + ([limit] if limit else []) + [1e-9])
    return top * 1.1


def bar_chart(
    title: str,
    labels: Sequence[str],
    pre: Sequence[float | None],
    post: Sequence[float | None],
    limit: float | None = None,
) -> str:
    """Grouped bars (pre, post) per label, with an optional dashed limit line."""
    top = _scale([*pre, *post], limit)
    plot_h = HEIGHT - 2 * PAD
    group_w = (WIDTH - 2 * PAD) / max(1, len(labels))
    bar_w = group_w * 0.35
    parts = [f'<text x="{PAD}" y="20" font-weight="bold">{escape(title)}</text>']
    for i, label in enumerate(labels):
        x0 = PAD + i * group_w + group_w * 0.15
        for j, (value, colour) in enumerate(((pre[i], PRE_COLOUR), (post[i], POST_COLOUR))):
            if value is None:
                continue
            h = plot_h * value / top
            x, y = x0 + j * bar_w, HEIGHT - PAD - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{escape(label)}: {value:.4g}</title></rect>"
                + _text(x + bar_w / 2, y - 3, f"{value:.3g}", 10, "middle")
            )
        parts.append(_text(x0 + bar_w, HEIGHT - PAD + 14, label, 11, "middle"))
    parts.append(_limit_line(limit, top))
    return _svg(parts)


def line_chart(
    title: str, lines: Sequence[tuple[str, str, Sequence[float], Sequence[float]]], limit: float | None
) -> str:
    """Lines (name, colour, xs, ys) over a shared time axis, with an optional limit line."""
    top = _scale([y for *_, ys in lines for y in ys], limit)
    right = max([x for _, _, xs, _ in lines for x in xs] + [1e-9])
    plot_w, plot_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    parts = [f'<text x="{PAD}" y="20" font-weight="bold">{escape(title)}</text>']
    for k, (name, colour, xs, ys) in enumerate(lines):
        points = " ".join(
            f"{PAD + plot_w * x / right:.1f},{HEIGHT - PAD - plot_h * y / top:.1f}"
            for x, y in zip(xs, ys, strict=True)
        )
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        parts.append(_text(WIDTH - PAD - 90, 20 + 14 * k, name, 11, fill=colour))
    parts.append(_text(WIDTH - PAD, HEIGHT - PAD + 14, f"{right:.1f} s", 10, "end"))
    parts.append(_limit_line(limit, top))
    return _svg(parts)


def _limit_line(limit: float | None, top: float) -> str:
    if not limit:
        return ""
    y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * limit / top
    line = f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{y:.1f}" y2="{y:.1f}" stroke="{LIMIT_COLOUR}" '
    return (
        line
        + 'stroke-dasharray="5,4"/>'
        + _text(WIDTH - PAD, y - 3, f"limit {limit:g}", 10, "end", LIMIT_COLOUR)
    )


def _svg(parts: Sequence[str]) -> str:
    axis = f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{HEIGHT - PAD}" y2="{HEIGHT - PAD}" stroke="#555"/>'
    body = "".join(parts)
    head = f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img">'
    return f"{head}{axis}{body}</svg>"


def _group(comparison: Comparison, keys: Sequence[str]) -> tuple[list[float | None], list[float | None]]:
    return [lookup(comparison.pre, k) for k in keys], [lookup(comparison.post, k) for k in keys]


def _limit(report: dict[str, Any], name: str) -> float | None:
    return lookup(report, f"resource_limits.{name}")


def _timeline_chart(comparison: Comparison, name: str, title: str) -> str:
    lines = []
    for label, colour, report in (
        ("pre", PRE_COLOUR, comparison.pre),
        ("post", POST_COLOUR, comparison.post),
    ):
        timeline = (report.get("resource_usage") or {}).get("timeline") or {}
        if timeline.get("t_s") and timeline.get(name):
            lines.append((label, colour, timeline["t_s"], timeline[name]))
    return line_chart(title, lines, _limit(comparison.post, name)) if lines else ""


def charts(comparison: Comparison) -> list[str]:
    latency_keys = [f"latency_ms.{p}" for p in ("p50", "p95", "p99", "max")]
    drift_keys = ["drift_ms.p95", "drift_ms.max", "jitter_ms"]
    cpu_keys = ["resource_usage.cpu_percent.mean", "resource_usage.cpu_percent.peak"]
    memory_keys = ["resource_usage.memory_mb.mean", "resource_usage.memory_mb.peak"]
    out = [
        bar_chart("iteration latency (ms)", ["p50", "p95", "p99", "max"], *_group(comparison, latency_keys)),
        bar_chart(
            "drift and jitter (ms)", ["drift p95", "drift max", "jitter"], *_group(comparison, drift_keys)
        ),
        bar_chart(
            "CPU % (100 = one core)",
            ["mean", "peak"],
            *_group(comparison, cpu_keys),
            _limit(comparison.post, "cpu_percent"),
        ),
        bar_chart(
            "memory RSS (MB)",
            ["mean", "peak"],
            *_group(comparison, memory_keys),
            _limit(comparison.post, "memory_mb"),
        ),
        _timeline_chart(comparison, "cpu_percent", "CPU % over the run"),
        _timeline_chart(comparison, "memory_mb", "RSS MB over the run"),
    ]
    return [chart for chart in out if chart]


def _table(comparison: Comparison) -> str:
    def cell(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.4g}"

    rows = [
        "<tr><td>resource_status</td>"
        f"<td>{escape(str(comparison.pre.get('resource_status')))}</td>"
        f"<td>{escape(str(comparison.post.get('resource_status')))}</td><td></td><td></td>"
        f"<td>{'REGRESSION' if comparison.status_regression else ''}</td></tr>"
    ]
    for row in comparison.rows:
        ratio = row.delta_ratio
        rows.append(
            f'<tr class="{"bad" if row.regression else ""}"><td>{escape(row.metric.label)}</td>'
            f"<td>{cell(row.pre)}</td><td>{cell(row.post)}</td><td>{cell(row.delta)}</td>"
            f"<td>{'' if ratio is None else f'{ratio:+.0%}'}</td>"
            f"<td>{'REGRESSION' if row.regression else ''}</td></tr>"
        )
    head = "<tr><th>metric</th><th>pre</th><th>post</th><th>delta</th><th>delta %</th><th></th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def render_html(comparison: Comparison) -> str:
    verdict = (
        f"{len(comparison.regressions)} regression(s) beyond {comparison.threshold:.0%}: "
        + ", ".join(comparison.regressions)
        if comparison.regressions
        else f"no regression beyond {comparison.threshold:.0%}"
    )
    legend = (
        f'<p><span style="color:{PRE_COLOUR}">&#9632; pre: {escape(comparison.pre_path)}</span> &nbsp; '
        f'<span style="color:{POST_COLOUR}">&#9632; post: {escape(comparison.post_path)}</span></p>'
    )
    pre_off = ", ".join(comparison.pre.get("disabled_schedules", [])) or "none"
    post_off = ", ".join(comparison.post.get("disabled_schedules", [])) or "none"
    disabled = f"<p>disabled schedules: pre {escape(pre_off)}; post {escape(post_off)}</p>"
    style = (
        "body{font-family:sans-serif;margin:2em;max-width:1120px}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child{text-align:left}"
        "tr.bad td{background:#fdd}svg{margin:8px;border:1px solid #eee}"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>tradeops load test comparison</title><style>{style}</style></head><body>"
        f"<h1>Scheduler load test comparison</h1>{legend}<p><strong>{escape(verdict)}</strong></p>"
        f"{disabled}{_table(comparison)}<div>{''.join(charts(comparison))}</div></body></html>\n"
    )


def write_html(comparison: Comparison, path: Path) -> Path:
    return atomic_write_text(path, render_html(comparison))
