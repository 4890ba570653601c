"""What the metrics watcher shows: the live table, the end-of-window changes, the report and its verdict."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table

from tradeops.observability.durations import format_duration
from tradeops.observability.scrape import Samples
from tradeops.observability.watch import WatchResult, WatchSettings, iso

EXIT_OK = 0
EXIT_NEW_CRITICAL = 3
EXIT_NOT_ALL_EVALUATED = 4  # no new critical among the rules checked, but some could not be checked
COUNTERS = {
    "signals": "tradeops_strategy_signals_total",
    "orders": "tradeops_strategy_orders_total",
    "fills": "tradeops_strategy_fills_total",
    "denials": "tradeops_strategy_denials_total",
    "cycles": "tradeops_strategy_cycles_total",
}
GAUGES = {"drawdown_ratio": "tradeops_strategy_drawdown_ratio", "disabled": "tradeops_strategy_disabled"}
GLOBAL_GAUGES = {
    "override_active": "tradeops_override_active",
    "override_malformed": "tradeops_override_malformed",
    "equity_quote": "tradeops_equity_quote",
    "resource_sustained_breach_seconds": "tradeops_resource_sustained_breach_seconds",
    "decision_log_backlog": "tradeops_decision_log_backlog",
}


def _by_strategy(samples: Samples, name: str) -> dict[str, float]:
    """Sum of a family per strategy label (denials add up over reasons)."""
    totals: dict[str, float] = {}
    for labels, value in samples.get(name, {}).items():
        strategy = dict(labels).get("strategy")
        if strategy is not None:
            totals[strategy] = totals.get(strategy, 0.0) + value
    return totals


def _one(samples: Samples, name: str, default: float = 0.0) -> float:
    series = samples.get(name, {})
    return max(series.values()) if series else default


def _state(samples: Samples, name: str, strategy: str | None = None) -> str:
    for labels, value in samples.get(name, {}).items():
        found = dict(labels)
        if value == 1.0 and (strategy is None or found.get("strategy") == strategy):
            return found.get("state", "?")
    return "?"


def _resources(samples: Samples) -> dict[str, float]:
    return {
        dict(labels).get("resource", "?"): v
        for labels, v in samples.get("tradeops_resource_usage_ratio", {}).items()
    }


def _counter_change(start: float, end: float) -> dict[str, Any]:
    change: dict[str, Any] = {"start": start, "end": end, "delta": end - start}
    if end < start:  # the runtime restarted: counters began again at zero
        change.update(delta=end, reset=True)
    return change


def changes(first: Samples, last: Samples) -> dict[str, Any]:
    strategies: dict[str, dict[str, Any]] = {}
    names = sorted(
        set(_by_strategy(first, COUNTERS["signals"])) | set(_by_strategy(last, COUNTERS["signals"]))
    )
    for strategy in names:
        row: dict[str, Any] = {}
        for key, metric in COUNTERS.items():
            row[key] = _counter_change(
                _by_strategy(first, metric).get(strategy, 0.0), _by_strategy(last, metric).get(strategy, 0.0)
            )
        for key, metric in GAUGES.items():
            row[key] = {
                "start": _by_strategy(first, metric).get(strategy),
                "end": _by_strategy(last, metric).get(strategy),
            }
        row["trading_state"] = {
            "start": _state(first, "tradeops_strategy_trading_state", strategy),
            "end": _state(last, "tradeops_strategy_trading_state", strategy),
        }
        strategies[strategy] = row
    overall: dict[str, Any] = {
        key: {"start": _one(first, m), "end": _one(last, m)} for key, m in GLOBAL_GAUGES.items()
    }
    overall["trading_state"] = {
        "start": _state(first, "tradeops_trading_state"),
        "end": _state(last, "tradeops_trading_state"),
    }
    overall["exchange_errors"] = _counter_change(
        sum(first.get("tradeops_exchange_errors_total", {}).values()),
        sum(last.get("tradeops_exchange_errors_total", {}).values()),
    )
    overall["resource_usage_ratio"] = {"start": _resources(first), "end": _resources(last)}
    return {"strategies": strategies, "global": overall}


def _verdict(new_critical: list[dict[str, Any]], source: dict[str, Any]) -> dict[str, Any]:
    """Never "no new critical alerts" when some rules were not evaluated: they are named instead."""
    if new_critical:
        return {"verdict": "new critical alerts", "exit_code": EXIT_NEW_CRITICAL}
    unchecked = list(source.get("not_evaluated") or [])
    if unchecked:
        evaluated = len(source.get("evaluated") or [])
        return {
            "verdict": f"no new critical alert among the {evaluated} rules evaluated; NOT evaluated "
            f"(give --prometheus-url or --alertmanager-url): {', '.join(unchecked)}",
            "exit_code": EXIT_NOT_ALL_EVALUATED,
        }
    if source.get("kind") == "local-rules":
        evaluated = len(source.get("evaluated") or [])
        return {"verdict": f"no new critical alerts (all {evaluated} rules evaluated)", "exit_code": EXIT_OK}
    return {"verdict": "no new critical alerts", "exit_code": EXIT_OK}


def build_report(
    result: WatchResult,
    settings: WatchSettings,
    source: dict[str, Any],
    headers: dict[str, Any] | None,
) -> dict[str, Any]:
    alerts = sorted(
        result.alerts, key=lambda a: (a["severity"] != "critical", a["starts_at"], a["alertname"])
    )
    new_critical = [a for a in alerts if a["new"] and a["severity"] == "critical"]
    report: dict[str, Any] = {
        "schema": "tradeops.metrics_watch/1",
        "url": settings.url,
        "started_at": iso(result.started_wall),
        "ended_at": iso(result.ended_wall),
        "duration": format_duration(settings.duration_s),
        "duration_seconds": settings.duration_s,
        "interval_seconds": settings.interval_s,
        "time_scale": settings.time_scale,
        "wall_seconds": round(result.ended_wall - result.started_wall, 3),
        "polls": result.polls,
        "scrape_failures": result.failures,
        "scrape_errors": result.errors,
        "alert_source": source,
        "changes": changes(result.first, result.last),
        "alerts": alerts,
        "new_critical_alerts": new_critical,
        **_verdict(new_critical, source),
    }
    if headers is not None:
        report["headers_report"] = headers
    return report


def _fmt(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:.1%}" if percent else f"{value:g}"


def live_table(samples: Samples, alerts: list[dict[str, Any]], elapsed_s: float, duration_s: float) -> Group:
    table = Table(title=f"tradeops metrics: {format_duration(elapsed_s)} of {format_duration(duration_s)}")
    table.add_column("strategy", no_wrap=True, min_width=17)
    for column in ("signals", "orders", "fills", "denials", "state", "disabled", "drawdown"):
        table.add_column(column, justify="left" if column == "state" else "right", no_wrap=True)
    for strategy in sorted(_by_strategy(samples, COUNTERS["signals"])):
        table.add_row(
            strategy,
            *(
                _fmt(_by_strategy(samples, COUNTERS[k]).get(strategy))
                for k in ("signals", "orders", "fills", "denials")
            ),
            _state(samples, "tradeops_strategy_trading_state", strategy),
            "yes" if _by_strategy(samples, GAUGES["disabled"]).get(strategy) else "no",
            _fmt(_by_strategy(samples, GAUGES["drawdown_ratio"]).get(strategy), percent=True),
        )
    overall = Table(title="global", show_header=False)
    overall.add_column("what")
    overall.add_column("value", justify="right")
    overall.add_row(
        "kill switch override", "ACTIVE" if _one(samples, GLOBAL_GAUGES["override_active"]) else "off"
    )
    overall.add_row(
        "untrusted override", "YES" if _one(samples, GLOBAL_GAUGES["override_malformed"]) else "no"
    )
    overall.add_row("trading state", _state(samples, "tradeops_trading_state"))
    for resource, ratio in sorted(_resources(samples).items()):
        overall.add_row(f"{resource} / budget", _fmt(ratio, percent=True))
    overall.add_row(
        "sustained breach", f"{_one(samples, GLOBAL_GAUGES['resource_sustained_breach_seconds']):.0f} s"
    )
    firing = [a for a in alerts if a["state"] != "resolved"]
    overall.add_row("alerts firing", ", ".join(sorted({a["alertname"] for a in firing})) or "none")
    return Group(table, overall)


def report_lines(report: dict[str, Any]) -> list[str]:
    """The human summary printed at the end of the window."""
    lines = [
        f"watched {report['url']} for {report['duration']} ({report['polls']} polls, "
        f"{report['scrape_failures']} failed scrapes)",
    ]
    if report["time_scale"] != 1:
        lines.append(
            f"time scale {report['time_scale']:g} ({report['wall_seconds']:.1f} s of wall time): "
            "drill/training accelerator, not a real observation window"
        )
    source = report["alert_source"]
    lines.append(f"alerts from {source['kind']}" + (f" ({source['url']})" if source.get("url") else ""))
    if source["kind"] == "local-rules":
        lines.append(
            f"  {len(source['evaluated'])} rules evaluated on the watcher's scrapes; "
            f"not evaluated: {', '.join(source['not_evaluated']) or 'none'}"
        )
        if source.get("short_history"):
            lines.append(f"  saw only the watched part of their range: {', '.join(source['short_history'])}")
    lines.append("changes:")
    for strategy, row in report["changes"]["strategies"].items():
        deltas = ", ".join(f"{k} +{row[k]['delta']:g}" for k in ("signals", "orders", "fills", "denials"))
        state = row["trading_state"]
        lines.append(f"  {strategy}: {deltas}; state {state['start']} -> {state['end']}")
    overall = report["changes"]["global"]
    lines.append(
        f"  override {overall['override_active']['start']:g} -> {overall['override_active']['end']:g}, "
        f"exchange errors +{overall['exchange_errors']['delta']:g}, "
        f"sustained breach {overall['resource_sustained_breach_seconds']['end']:g} s"
    )
    lines.append(f"alerts in the window: {len(report['alerts'])}")
    for alert in report["alerts"]:
        flags = [alert["severity"], alert["state"], "new" if alert["new"] else "before the window"]
        if alert["silenced"]:
            flags.append("silenced")
        lines.append(
            f"  {alert['alertname']} ({', '.join(flags)}) since {alert['starts_at']}: {alert['summary']}"
        )
    lines.append(f"verdict: {report['verdict']} (exit {report['exit_code']})")
    return lines
