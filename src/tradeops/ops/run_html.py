"""The run report as one self-contained HTML page: no script, no CDN, the charts inlined as PNG.

Sections: run metadata, account statistics, per-strategy statistics, warnings, data quality (with
the gaps listed), then the equity chart and one chart per strategy.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1f2328; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #d0d7de; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.warnings li { color: #9a6700; }
img { max-width: 100%; border: 1px solid #d0d7de; margin-bottom: 1rem; }
"""
STRATEGY_COLUMNS = (
    ("risk_budget_bucket", "bucket"),
    ("orders", "orders"),
    ("fills", "fills"),
    ("trades", "trades"),
    ("win_rate", "win rate"),
    ("profit_factor", "profit factor"),
    ("pnl", "PnL"),
    ("fees", "fees"),
    ("total_return", "return"),
    ("max_drawdown_ratio", "max DD"),
    ("sharpe", "Sharpe"),
    ("sortino", "Sortino"),
    ("exposure_ratio", "exposure"),
    ("state", "state"),
)
PERCENT = frozenset({"win_rate", "total_return", "max_drawdown_ratio", "exposure_ratio"})


def cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key in PERCENT and isinstance(value, int | float):
        return f"{value:.2%}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.2f}"
    return str(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _metadata(run: Mapping[str, Any]) -> str:
    window = run["window"]
    source = ", ".join(f"{k}={v}" for k, v in run["data_source"].items())
    rows = [
        ("run id", run["run_id"]),
        ("kind", run["kind"]),
        ("environment", run["environment"]),
        ("version", run["version"]),
        ("config", f"{run['config']} (sha256 {run['config_sha256']})"),
        ("data", f"{source}; {run['data_sha256']}"),
        ("seed", str(run["seed"])),
        ("window (market time)", f"{window['start']} .. {window['end']}"),
        ("bars / steps", f"{run['bars']} bars loaded, {run['steps']} steps of {run['interval']}"),
        ("instruments", ", ".join(run["instruments"])),
        ("generated at (wall time)", run["generated_at"]),
    ]
    return _table(("", ""), rows)


def _image(title: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<h3>{escape(title)}</h3><img alt="{escape(title)}" src="data:image/png;base64,{data}">'


def render_html(summary: Mapping[str, Any], images: Mapping[str, bytes]) -> str:
    """`images`: title -> PNG bytes, in the order they appear."""
    run, account = summary["run"], summary["account"]
    account_rows = [
        (
            f"{summary['initial_equity']} -> {summary['equity']} {account['quote_asset']}",
            *(cell(k, account.get(k)) for k in ("total_return", "max_drawdown_ratio", "sharpe", "sortino")),
        )
    ]
    strategy_rows = [
        (name, *(cell(key, row.get(key)) for key, _ in STRATEGY_COLUMNS))
        for name, row in summary["strategies"].items()
    ]
    warnings = summary.get("warnings") or []
    warning_html = (
        "<ul class='warnings'>" + "".join(f"<li>{escape(w)}</li>" for w in warnings) + "</ul>"
        if warnings
        else "<p>none</p>"
    )
    quality_rows = [
        (
            f"{q['venue']} {q['symbol']}",
            str(q["bars_in_window"]),
            str(q["gaps"]),
            str(q["missing_bars"]),
            str(q["stale_bars"]),
            "; ".join(f"{g['after']} .. {g['before']} ({g['missing_bars']})" for g in q["gap_list"]) or "-",
        )
        for q in summary.get("data_quality") or []
    ]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>tradeops run {escape(run['run_id'])}</title><style>{STYLE}</style></head><body>",
        f"<h1>Run {escape(run['run_id'])}</h1>",
        "<h2>Run</h2>",
        _metadata(run),
        "<h2>Account</h2>",
        _table(("equity", "return", "max DD", "Sharpe", "Sortino"), account_rows),
        "<h2>Strategies</h2>",
        _table(("strategy", *(label for _, label in STRATEGY_COLUMNS)), strategy_rows),
        "<h2>Warnings</h2>",
        warning_html,
        "<h2>Data quality in the run window</h2>",
        _table(("instrument", "bars", "gaps", "missing bars", "stale bars", "gaps listed"), quality_rows),
        "<h2>Charts</h2>",
        *(_image(title, png) for title, png in images.items()),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
