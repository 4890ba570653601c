"""The Grafana dashboard "Stage4 – Multi-Strategy Operations", generated with grafana-foundation-sdk.

Panels are declared as data (`ROWS`); `build_dashboard()` turns them into the SDK's builders and
`dashboard_json()` into the provisioned file. `tradeops metrics dashboard --output PATH` writes it;
a test checks the committed JSON equals the generated one and that every query uses exported names.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from grafana_foundation_sdk.builders import dashboard as gdash
from grafana_foundation_sdk.builders import prometheus, stat, statetimeline, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as gmodel

TITLE = "Stage4 – Multi-Strategy Operations"
UID = "stage4-multi"
DASHBOARD_PATH = Path("deploy/grafana/provisioning/dashboards/stage4_multi_strategy.json")
DATASOURCE = gmodel.DataSourceRef(type_val="prometheus", uid="${datasource}")
RATE = "$__rate_interval"
SEL = '{strategy=~"$strategy"}'
# What Grafana substitutes for the template variables, for running panel queries elsewhere.
VARIABLE_SAMPLES = {"$strategy": ".*", "$__rate_interval": "1m", "${datasource}": "prometheus"}

Kind = Literal["timeseries", "stat", "state"]


@dataclass(frozen=True, slots=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True, slots=True)
class PanelSpec:
    title: str
    kind: Kind
    queries: tuple[Query, ...]
    unit: str = "short"
    description: str = ""
    thresholds: tuple[tuple[float, str], ...] = ()  # (value, color) above the green base
    mappings: dict[str, tuple[str, str]] = field(default_factory=dict)  # value -> (text, color)
    width: int = 8


def _q(expr: str, legend: str = "") -> Query:
    return Query(expr, legend)


def _p99(metric: str, by: str, quantile: str = "0.99", sel: str = SEL) -> str:
    return f"histogram_quantile({quantile}, sum by ({by}, le) (rate({metric}_bucket{sel}[{RATE}])))"


def _per_min(metric: str, by: str) -> str:
    return f"sum by ({by}) (rate({metric}{SEL}[{RATE}])) * 60"


ON_OFF = {"0": ("off", "green"), "1": ("ON", "red")}
STATE_EXPR = (
    'max by (strategy) (tradeops_strategy_trading_state{strategy=~"$strategy", state="halted"}) * 2 + '
    'max by (strategy) (tradeops_strategy_trading_state{strategy=~"$strategy", state="reducing"})'
)

ROWS: tuple[tuple[str, tuple[PanelSpec, ...]], ...] = (
    (
        "Overview",
        (
            PanelSpec(
                "Kill switch", "stat", (_q("max(tradeops_override_active)"),), mappings=ON_OFF, width=4
            ),
            PanelSpec(
                "Untrusted override",
                "stat",
                (_q("max(tradeops_override_malformed)"),),
                mappings=ON_OFF,
                width=4,
            ),
            PanelSpec(
                "Runtime scraped",
                "stat",
                (_q('min(up{job="tradeops"})'),),
                mappings={"0": ("DOWN", "red"), "1": ("up", "green")},
                width=4,
            ),
            PanelSpec(
                "Scheduler heartbeat age",
                "stat",
                (
                    _q(
                        'max(timestamp(up{job="tradeops"}) - on(job, instance) '
                        "max_over_time(tradeops_heartbeat_timestamp_seconds[10m]))"
                    ),
                ),
                unit="s",
                description="Seconds since the running scheduler's last heartbeat, at the last scrape "
                "attempt (Stage4SchedulerStalled fires past runtime.heartbeat's limit).",
                thresholds=((3, "orange"), (5, "red")),
                width=4,
            ),
            PanelSpec(
                "Strategies disabled",
                "stat",
                (_q("sum(tradeops_strategy_disabled)"),),
                thresholds=((1, "orange"),),
                width=4,
            ),
            PanelSpec("Equity", "stat", (_q("sum(tradeops_equity_quote)"),), unit="none", width=4),
            PanelSpec(
                "Sustained resource breach",
                "stat",
                (_q("max(tradeops_resource_sustained_breach_seconds)"),),
                unit="s",
                thresholds=((1, "orange"), (600, "red")),
                width=4,
            ),
        ),
    ),
    (
        "Strategies",
        (
            PanelSpec(
                "Signals, orders and fills per minute",
                "timeseries",
                (
                    _q(_per_min("tradeops_strategy_signals_total", "strategy"), "{{strategy}} signals"),
                    _q(_per_min("tradeops_strategy_orders_total", "strategy"), "{{strategy}} orders"),
                    _q(_per_min("tradeops_strategy_fills_total", "strategy"), "{{strategy}} fills"),
                ),
            ),
            PanelSpec(
                "Risk denials per minute by reason",
                "timeseries",
                (
                    _q(
                        _per_min("tradeops_strategy_denials_total", "strategy, reason"),
                        "{{strategy}} {{reason}}",
                    ),
                ),
            ),
            PanelSpec(
                "Trading state",
                "state",
                (_q(STATE_EXPR, "{{strategy}}"),),
                mappings={"0": ("active", "green"), "1": ("reducing", "orange"), "2": ("halted", "red")},
            ),
            PanelSpec(
                "Cycle latency p99",
                "timeseries",
                (_q(_p99("tradeops_strategy_cycle_latency_seconds", "strategy"), "{{strategy}}"),),
                unit="s",
                thresholds=((0.25, "orange"), (1, "red")),
            ),
            PanelSpec(
                "Schedule drift p95",
                "timeseries",
                (_q(_p99("tradeops_strategy_schedule_drift_seconds", "strategy", "0.95"), "{{strategy}}"),),
                unit="s",
                thresholds=((5, "orange"),),
            ),
            PanelSpec(
                "Disabled strategies",
                "state",
                (_q(f"max by (strategy) (tradeops_strategy_disabled{SEL})", "{{strategy}}"),),
                mappings={"0": ("enabled", "green"), "1": ("disabled", "red")},
            ),
        ),
    ),
    (
        "Capital and PnL",
        (
            PanelSpec(
                "Allocation used / allowed",
                "timeseries",
                (_q(f"max by (strategy) (tradeops_strategy_allocation_used_ratio{SEL})", "{{strategy}}"),),
                unit="percentunit",
                thresholds=((1, "red"),),
            ),
            PanelSpec(
                "Allocation used and allowed (quote)",
                "timeseries",
                (
                    _q(
                        f"sum by (strategy) (tradeops_strategy_allocation_used_quote{SEL})",
                        "{{strategy}} used",
                    ),
                    _q(
                        f"sum by (strategy) (tradeops_strategy_allocation_allowed_quote{SEL})",
                        "{{strategy}} allowed",
                    ),
                ),
                unit="none",
            ),
            PanelSpec(
                "Realized and unrealized PnL (quote)",
                "timeseries",
                (
                    _q(
                        f"sum by (strategy) (tradeops_strategy_realized_pnl_quote{SEL})",
                        "{{strategy}} realized",
                    ),
                    _q(
                        f"sum by (strategy) (tradeops_strategy_unrealized_pnl_quote{SEL})",
                        "{{strategy}} unrealized",
                    ),
                ),
                unit="none",
            ),
            PanelSpec(
                "Drawdown",
                "timeseries",
                (_q(f"max by (strategy) (tradeops_strategy_drawdown_ratio{SEL})", "{{strategy}}"),),
                unit="percentunit",
                thresholds=((0.05, "orange"), (0.1, "red")),
            ),
            PanelSpec(
                "Loss vs daily budget (rollback at 3x)",
                "timeseries",
                (_q(f"max by (strategy) (tradeops_strategy_pnl_divergence_ratio{SEL})", "{{strategy}}"),),
                thresholds=((1, "orange"), (3, "red")),
            ),
            PanelSpec(
                "Exposure (quote)",
                "timeseries",
                (_q(f"sum by (strategy) (tradeops_strategy_exposure_quote{SEL})", "{{strategy}}"),),
                unit="none",
            ),
        ),
    ),
    (
        "Resources, audit trail and exchanges",
        (
            PanelSpec(
                "Resource use / budget",
                "timeseries",
                (_q("max by (resource) (tradeops_resource_usage_ratio)", "{{resource}}"),),
                unit="percentunit",
                thresholds=((0.8, "orange"), (1, "red")),
            ),
            PanelSpec(
                "Memory and its budget",
                "timeseries",
                (
                    _q("max(tradeops_resource_memory_bytes)", "resident"),
                    _q("max(tradeops_resource_memory_limit_bytes)", "budget"),
                ),
                unit="bytes",
            ),
            PanelSpec(
                "Decision log write p99",
                "timeseries",
                (
                    _q(
                        _p99("tradeops_decision_log_write_latency_seconds", "instance", sel=""),
                        "{{instance}}",
                    ),
                ),
                unit="s",
            ),
            PanelSpec(
                "Decision log backlog (entries)",
                "timeseries",
                (_q("max(tradeops_decision_log_backlog)", "backlog"),),
                thresholds=((1000, "orange"),),
            ),
            PanelSpec(
                "Decision log write failures (5m; trading halts while > 0)",
                "timeseries",
                (
                    _q("sum(increase(tradeops_decision_log_write_failures_total[5m]))", "failures"),
                    _q("max(tradeops_decision_log_head_seq)", "durable head seq"),
                ),
                thresholds=((1, "red"),),
            ),
            PanelSpec(
                "Exchange errors per minute",
                "timeseries",
                (
                    _q(
                        f"sum by (exchange, kind) (rate(tradeops_exchange_errors_total[{RATE}])) * 60",
                        "{{exchange}} {{kind}}",
                    ),
                ),
                thresholds=((1, "red"),),
            ),
            PanelSpec(
                "Exchange request latency p99",
                "timeseries",
                (_q(_p99("tradeops_exchange_request_latency_seconds", "exchange", sel=""), "{{exchange}}"),),
                unit="s",
                thresholds=((2, "red"),),
            ),
            PanelSpec(
                "Venue request latency p99 by endpoint (live venues)",
                "timeseries",
                (
                    _q(
                        _p99("tradeops_exchange_endpoint_latency_seconds", "exchange, endpoint", sel=""),
                        "{{exchange}} {{endpoint}}",
                    ),
                ),
                unit="s",
                thresholds=((2.5, "red"),),
            ),
            PanelSpec(
                "Venue used request weight and stream reconnects (live venues)",
                "timeseries",
                (
                    _q("max by (exchange) (tradeops_exchange_used_weight)", "{{exchange}} weight"),
                    _q(
                        "sum by (exchange, stream) (increase(tradeops_exchange_stream_reconnects_total[5m]))",
                        "{{exchange}} {{stream}} reconnects",
                    ),
                ),
            ),
            PanelSpec(
                "Market data staleness (live venues)",
                "timeseries",
                (
                    _q(
                        "max by (exchange, symbol) (tradeops_market_data_staleness_seconds)",
                        "{{exchange}} {{symbol}}",
                    ),
                ),
                unit="s",
                thresholds=((120, "red"),),
            ),
            PanelSpec(
                "Reconcile differences with the venues",
                "timeseries",
                (_q("max(tradeops_reconcile_diffs)", "differences"),),
                thresholds=((1, "red"),),
            ),
        ),
    ),
)


def _thresholds(spec: PanelSpec) -> gdash.ThresholdsConfig:
    steps = [gmodel.Threshold(value=None, color="green")]
    steps += [gmodel.Threshold(value=value, color=color) for value, color in spec.thresholds]
    return gdash.ThresholdsConfig().mode(gmodel.ThresholdsMode.ABSOLUTE).steps(steps)


def _mappings(spec: PanelSpec) -> list[gmodel.ValueMapping]:
    options = {
        value: gmodel.ValueMappingResult(text=text, color=color, index=index)
        for index, (value, (text, color)) in enumerate(spec.mappings.items())
    }
    return [gmodel.ValueMap(options=options)]


def _panel(spec: PanelSpec) -> Any:
    panel: Any
    if spec.kind == "stat":
        panel = stat.Panel()
    elif spec.kind == "state":
        panel = statetimeline.Panel()
    else:
        panel = timeseries.Panel()
    panel = panel.title(spec.title).datasource(DATASOURCE).unit(spec.unit).span(spec.width)
    panel = panel.height(4 if spec.kind == "stat" else 8).thresholds(_thresholds(spec))
    if spec.mappings:
        panel = panel.mappings(_mappings(spec))
    if spec.description:
        panel = panel.description(spec.description)
    for index, query in enumerate(spec.queries):
        target = prometheus.Dataquery().expr(query.expr).ref_id(chr(ord("A") + index))
        panel = panel.with_target(target.legend_format(query.legend) if query.legend else target)
    return panel


def build_dashboard() -> gmodel.Dashboard:
    datasource = gdash.DatasourceVariable("datasource").label("Prometheus").type("prometheus")
    strategy = (
        gdash.QueryVariable("strategy")
        .label("Strategy")
        .datasource(DATASOURCE)
        .query("label_values(tradeops_strategy_signals_total, strategy)")
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .refresh(gmodel.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(gmodel.VariableSort.ALPHABETICAL_ASC)
        .current(gmodel.VariableOption(selected=True, text="All", value="$__all"))
    )
    builder = (
        gdash.Dashboard(TITLE)
        .uid(UID)
        .tags(["tradeops", "stage4"])
        .description(
            "Stage4 multi-strategy runtime: kill switch, strategies, capital, resources, audit trail."
        )
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("utc")
        .editable()
        .with_variable(datasource)
        .with_variable(strategy)
    )
    for row_title, panels in ROWS:
        builder = builder.with_row(gdash.Row(row_title))
        for spec in panels:
            builder = builder.with_panel(_panel(spec))
    return builder.build()


def dashboard_json() -> str:
    """The provisioned file's exact text (stable key order, en dash kept as is)."""
    encoded = json.dumps(build_dashboard(), cls=JSONEncoder, indent=2, sort_keys=True, ensure_ascii=False)
    return encoded + "\n"


def panel_queries(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expr) of every query in a dashboard document (rows included)."""
    found: list[tuple[str, str]] = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            for target in panel.get("targets") or []:
                if target.get("expr"):
                    found.append((str(panel.get("title", "")), str(target["expr"])))
            walk(panel.get("panels") or [])

    walk(document.get("panels") or [])
    return found


def substitute_variables(expr: str) -> str:
    """Replace Grafana template variables with the values they take for 'All'."""
    return re.sub(
        r"\$\{datasource\}|\$__rate_interval|\$strategy", lambda m: VARIABLE_SAMPLES[m.group(0)], expr
    )
