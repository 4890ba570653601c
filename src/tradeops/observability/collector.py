"""Prometheus view of a running runtime: a custom collector over `RuntimeStats`, read at scrape time.

The runtime only keeps plain counters (`tradeops.runtime.stats`); this module turns them into metric
families named `tradeops_*` in base units (seconds, bytes, ratios, `_total` counters). Amounts of
money are in the account's quote currency (suffix `_quote`). `METRIC_NAMES` lists every family as it
is queried (counters with `_total`, histograms by base name); alert rules and the dashboard may use
only these (checked by `tradeops alerts validate` and the tests).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from tradeops import __version__
from tradeops.config.models import MANUAL_BUCKET, ResourceLimits
from tradeops.domain.events import DenialReason
from tradeops.domain.trading import TradingState
from tradeops.runtime.stats import HALT_REASONS, Histogram, ResourceUsage, RuntimeStats, StrategyStats

MB = 1024 * 1024
STRATEGY_LABELS = ("strategy", "risk_profile")
EXCHANGE_ERROR_KINDS = ("temporary", "rejected")
RESOURCE_LABELS = ("cpu", "memory", "io_read", "io_write")
DISABLED_STATE = "disabled"  # a strategy's trading_state while an operator has it disabled

Kind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str  # as queried: counters end in _total, histograms by base name
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()

    def family(self) -> Metric:
        if self.kind == "counter":
            return CounterMetricFamily(self.name.removesuffix("_total"), self.help, labels=self.labels)
        if self.kind == "histogram":
            return HistogramMetricFamily(self.name, self.help, labels=self.labels)
        return GaugeMetricFamily(self.name, self.help, labels=self.labels)


def _strategy(name: str, kind: Kind, help_text: str, *extra: str) -> MetricSpec:
    return MetricSpec(f"tradeops_strategy_{name}", kind, help_text, (*STRATEGY_LABELS, *extra))


SPECS: tuple[MetricSpec, ...] = (
    _strategy("signals_total", "counter", "Signals produced by the strategy."),
    _strategy("orders_total", "counter", "Orders the strategy sent to an exchange."),
    _strategy("fills_total", "counter", "Fills received for the strategy's orders."),
    _strategy("cycles_total", "counter", "Strategy cycles run by the scheduler."),
    _strategy("denials_total", "counter", "Orders refused by the risk gate, by reason.", "reason"),
    _strategy("cycle_latency_seconds", "histogram", "Wall time of one strategy cycle."),
    _strategy("schedule_drift_seconds", "histogram", "How late a cycle started against its schedule."),
    _strategy("allocation_used_quote", "gauge", "Capital in use by the strategy (quote currency)."),
    _strategy("allocation_allowed_quote", "gauge", "Capital the allocation allows (quote currency)."),
    _strategy("allocation_used_ratio", "gauge", "Allocation used / allowed (+Inf: used with 0 allowed)."),
    _strategy(
        "configured_allocation_ratio",
        "gauge",
        "Allocation of the strategy in the configuration the scheduler runs (before any disable).",
    ),
    _strategy("max_daily_loss_ratio", "gauge", "Daily loss limit of the running risk profile / allocation."),
    _strategy("max_position_ratio", "gauge", "Position size limit of the running risk profile / equity."),
    _strategy("exposure_quote", "gauge", "Absolute position value (quote currency)."),
    _strategy("realized_pnl_quote", "gauge", "Realized PnL net of fees (quote currency)."),
    _strategy("unrealized_pnl_quote", "gauge", "Unrealized PnL of open positions (quote currency)."),
    _strategy("day_pnl_quote", "gauge", "PnL since the start of the UTC day (quote currency)."),
    _strategy("daily_loss_budget_quote", "gauge", "Loss the risk profile allows per day (quote currency)."),
    _strategy("drawdown_ratio", "gauge", "Current drawdown from the PnL peak / allocated capital."),
    _strategy("max_drawdown_ratio", "gauge", "Largest drawdown seen / allocated capital."),
    _strategy("pnl_divergence_ratio", "gauge", "Today's loss as a multiple of the daily loss budget."),
    _strategy("trading_state", "gauge", "1 for the strategy's current trading state.", "state"),
    _strategy("disabled", "gauge", "1 when the strategy is disabled (bucket manual, allocation 0)."),
    _strategy(
        "last_cycle_timestamp_seconds",
        "gauge",
        "Unix time (wall clock) of the strategy's last cycle; 0 until a wall-clock run has run one.",
    ),
    MetricSpec("tradeops_trading_state", "gauge", "1 for the account's current trading state.", ("state",)),
    MetricSpec("tradeops_override_active", "gauge", "1 while a kill-switch override stops trading."),
    MetricSpec(
        "tradeops_trading_halted",
        "gauge",
        "1 while the runtime refuses to trade for `reason` (state_log_mismatch, state_store_unwritable).",
        ("reason",),
    ),
    MetricSpec("tradeops_override_malformed", "gauge", "1 while an untrusted override file halts trading."),
    MetricSpec("tradeops_equity_quote", "gauge", "Account equity (quote currency)."),
    MetricSpec("tradeops_resource_cpu_ratio", "gauge", "Process CPU use; 1 is one full core."),
    MetricSpec("tradeops_resource_cpu_limit_ratio", "gauge", "runtime.resource_limits.cpu_percent / 100."),
    MetricSpec("tradeops_resource_memory_bytes", "gauge", "Resident memory of the process."),
    MetricSpec("tradeops_resource_memory_limit_bytes", "gauge", "Memory budget (memory_mb) in bytes."),
    MetricSpec("tradeops_resource_io_read_bytes_per_second", "gauge", "Storage reads of the process."),
    MetricSpec("tradeops_resource_io_read_limit_bytes_per_second", "gauge", "Read budget (io_read_mb_s)."),
    MetricSpec("tradeops_resource_io_write_bytes_per_second", "gauge", "Storage writes of the process."),
    MetricSpec("tradeops_resource_io_write_limit_bytes_per_second", "gauge", "Write budget (io_write_mb_s)."),
    MetricSpec("tradeops_resource_usage_ratio", "gauge", "Used / limit per resource.", ("resource",)),
    MetricSpec("tradeops_resource_headroom_ratio", "gauge", "1 - used / limit per resource.", ("resource",)),
    MetricSpec(
        "tradeops_resource_sustained_breach_seconds",
        "gauge",
        "How long some resource has been over its limit without a break (0: no breach).",
    ),
    MetricSpec(
        "tradeops_decision_log_write_latency_seconds", "histogram", "Time to append one decision-log batch."
    ),
    MetricSpec("tradeops_decision_log_backlog", "gauge", "Decision-log entries waiting to be written."),
    MetricSpec(
        "tradeops_decision_log_write_failures_total",
        "counter",
        "Failed decision-log writes or fsyncs (trading halts until the log recovers).",
    ),
    MetricSpec("tradeops_decision_log_head_seq", "gauge", "Seq of the last durable decision-log entry."),
    MetricSpec(
        "tradeops_exchange_errors_total", "counter", "Failed exchange requests.", ("exchange", "kind")
    ),
    MetricSpec(
        "tradeops_exchange_request_latency_seconds", "histogram", "Exchange request time.", ("exchange",)
    ),
    MetricSpec(
        "tradeops_exchange_endpoint_latency_seconds",
        "histogram",
        "Live venues: time of one REST request, per endpoint (method and path).",
        ("exchange", "endpoint"),
    ),
    MetricSpec(
        "tradeops_exchange_request_errors_total",
        "counter",
        "Live venues: failed REST requests by error class (RequestTimeout, RateLimitExceeded, ...).",
        ("exchange", "error_class"),
    ),
    MetricSpec(
        "tradeops_exchange_used_weight",
        "gauge",
        "Live venues: request weight the venue reports used in its current window (X-MBX-USED-WEIGHT-1M).",
        ("exchange",),
    ),
    MetricSpec(
        "tradeops_exchange_stream_reconnects_total",
        "counter",
        "Live venues: stream connections after the first (stream: user_data, market_data).",
        ("exchange", "stream"),
    ),
    MetricSpec(
        "tradeops_market_data_staleness_seconds",
        "gauge",
        "Live venues: seconds since the instrument last brought a closed candle, beyond one interval.",
        ("exchange", "symbol"),
    ),
    MetricSpec(
        "tradeops_reconcile_diffs",
        "gauge",
        "Differences the last reconciliation found between local books and the venues (0: agree).",
    ),
    MetricSpec("tradeops_reconcile_runs_total", "counter", "Reconciliations with the venues run."),
    MetricSpec("tradeops_build_info", "gauge", "Always 1; names the build.", ("version", "environment")),
    MetricSpec("tradeops_start_time_seconds", "gauge", "Unix time (wall clock) the runtime started."),
    MetricSpec(
        "tradeops_last_cycle_timestamp_seconds",
        "gauge",
        "Unix time (wall clock) of the scheduler's last step.",
    ),
    MetricSpec(
        "tradeops_last_cycle_market_time_seconds", "gauge", "Market time of the scheduler's last step."
    ),
    MetricSpec(
        "tradeops_heartbeat_timestamp_seconds",
        "gauge",
        "Unix time (wall clock) of the scheduler's last heartbeat (0: none published).",
    ),
    MetricSpec(
        "tradeops_heartbeat_stale_after_seconds",
        "gauge",
        "Heartbeat age beyond which the scheduler counts as stalled (runtime.heartbeat).",
    ),
    MetricSpec(
        "tradeops_scheduler_up",
        "gauge",
        "1 while the scheduler's heartbeat is fresh, 0 when it is stalled or none was published.",
    ),
)

METRIC_NAMES: tuple[str, ...] = tuple(spec.name for spec in SPECS)
HISTOGRAM_NAMES: frozenset[str] = frozenset(spec.name for spec in SPECS if spec.kind == "histogram")


def queryable_names() -> frozenset[str]:
    """Every series name a query may use: families plus the _bucket/_sum/_count of histograms."""
    suffixed = {f"{name}{suffix}" for name in HISTOGRAM_NAMES for suffix in ("_bucket", "_sum", "_count")}
    return frozenset(METRIC_NAMES) | suffixed


def _bucket_bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))


class _Families:
    """One fresh family per spec, filled by name."""

    def __init__(self) -> None:
        self.by_name = {spec.name: spec.family() for spec in SPECS}

    def add(self, name: str, labels: list[str], value: float) -> None:
        family = self.by_name[name]
        assert isinstance(family, CounterMetricFamily | GaugeMetricFamily)
        family.add_metric(labels, value)

    def add_histogram(self, name: str, labels: list[str], histogram: Histogram) -> None:
        family = self.by_name[name]
        assert isinstance(family, HistogramMetricFamily)
        # Copy first: the runtime may observe while we read.
        copy = Histogram(histogram.buckets, list(histogram.counts), histogram.total, histogram.count)
        buckets = [(_bucket_bound(bound), float(n)) for bound, n in copy.cumulative()]
        family.add_metric(labels, buckets, copy.total)


def _ratio(used: float, allowed: float) -> float:
    if allowed > 0:
        return used / allowed
    return float("inf") if used > 0 else 0.0


class RuntimeCollector(Collector):
    """Reads a RuntimeStats (and the configured resource limits) on every scrape."""

    def __init__(
        self,
        stats: RuntimeStats,
        limits: ResourceLimits,
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.stats = stats
        self.limits = limits
        self._wall_clock = wall_clock
        self._fallback_start = wall_clock()

    def collect(self) -> Iterator[Metric]:
        families = _Families()
        for strategy in list(self.stats.strategies.values()):
            self._strategy(families, strategy)
        self._account(families)
        self._resources(families, self.stats.resources)
        self._io_paths(families)
        yield from families.by_name.values()

    def _strategy(self, f: _Families, s: StrategyStats) -> None:
        # A disabled strategy's bucket is manual (allocation 0): its series say so; enabling restores them.
        labels = [s.strategy, MANUAL_BUCKET if s.disabled else s.risk_profile]

        def gauge(name: str, value: float) -> None:
            f.add(f"tradeops_strategy_{name}", labels, value)

        for name, count in (("signals", s.signals), ("orders", s.orders), ("fills", s.fills)):
            gauge(f"{name}_total", float(count))
        gauge("cycles_total", float(s.cycles))
        denials = dict(s.denials)
        for reason in sorted({*(r.value for r in DenialReason), *denials}):
            f.add("tradeops_strategy_denials_total", [*labels, reason], float(denials.get(reason, 0)))
        f.add_histogram("tradeops_strategy_cycle_latency_seconds", labels, s.latency)
        f.add_histogram("tradeops_strategy_schedule_drift_seconds", labels, s.drift)
        used, allowed = float(s.allocation_used), float(s.allocation_allowed)
        gauge("allocation_used_quote", used)
        gauge("allocation_allowed_quote", allowed)
        gauge("allocation_used_ratio", _ratio(used, allowed))
        gauge("configured_allocation_ratio", s.configured_allocation)
        gauge("max_daily_loss_ratio", s.max_daily_loss_ratio)
        gauge("max_position_ratio", s.max_position_ratio)
        gauge("exposure_quote", float(s.exposure))
        gauge("realized_pnl_quote", float(s.realized_pnl))
        gauge("unrealized_pnl_quote", float(s.unrealized_pnl))
        gauge("day_pnl_quote", float(s.day_pnl))
        gauge("daily_loss_budget_quote", float(s.daily_loss_budget))
        gauge("drawdown_ratio", s.drawdown_ratio)
        gauge("max_drawdown_ratio", s.max_drawdown_ratio)
        gauge("pnl_divergence_ratio", s.pnl_divergence_ratio)
        shown = DISABLED_STATE if s.disabled else s.trading_state.value
        for state in (*(t.value for t in TradingState), DISABLED_STATE):
            f.add("tradeops_strategy_trading_state", [*labels, state], 1.0 if shown == state else 0.0)
        gauge("disabled", 1.0 if s.disabled else 0.0)
        gauge("last_cycle_timestamp_seconds", s.last_cycle_wall_ms / 1000.0)

    def _account(self, f: _Families) -> None:
        stats = self.stats
        for state in TradingState:
            f.add("tradeops_trading_state", [state.value], 1.0 if stats.global_state is state else 0.0)
        f.add("tradeops_override_active", [], 1.0 if stats.override_active else 0.0)
        for reason in HALT_REASONS:
            f.add("tradeops_trading_halted", [reason], 1.0 if stats.halt_reason == reason else 0.0)
        f.add("tradeops_override_malformed", [], 1.0 if stats.override_malformed else 0.0)
        f.add("tradeops_equity_quote", [], float(stats.equity))
        f.add("tradeops_build_info", [__version__, stats.environment], 1.0)
        started = stats.started_ms / 1000.0 if stats.started_ms else self._fallback_start
        f.add("tradeops_start_time_seconds", [], started)
        f.add("tradeops_last_cycle_timestamp_seconds", [], stats.last_step_wall_ms / 1000.0)
        f.add("tradeops_last_cycle_market_time_seconds", [], stats.last_cycle_ms / 1000.0)
        beat = stats.heartbeat_ms / 1000.0
        f.add("tradeops_heartbeat_timestamp_seconds", [], beat)
        f.add("tradeops_heartbeat_stale_after_seconds", [], stats.heartbeat_stale_after_s)
        fresh = beat > 0 and self._wall_clock() - beat <= stats.heartbeat_stale_after_s
        f.add("tradeops_scheduler_up", [], 1.0 if fresh else 0.0)

    def _resources(self, f: _Families, usage: ResourceUsage) -> None:
        limits = self.limits
        pairs = {
            "cpu": (usage.cpu_percent / 100.0, limits.cpu_percent / 100.0),
            "memory": (usage.memory_mb * MB, limits.memory_mb * MB),
            "io_read": (usage.io_read_mb_s * MB, limits.io_read_mb_s * MB),
            "io_write": (usage.io_write_mb_s * MB, limits.io_write_mb_s * MB),
        }
        names = {
            "cpu": ("tradeops_resource_cpu_ratio", "tradeops_resource_cpu_limit_ratio"),
            "memory": ("tradeops_resource_memory_bytes", "tradeops_resource_memory_limit_bytes"),
            "io_read": (
                "tradeops_resource_io_read_bytes_per_second",
                "tradeops_resource_io_read_limit_bytes_per_second",
            ),
            "io_write": (
                "tradeops_resource_io_write_bytes_per_second",
                "tradeops_resource_io_write_limit_bytes_per_second",
            ),
        }
        for resource in RESOURCE_LABELS:
            used, limit = pairs[resource]
            used_name, limit_name = names[resource]
            f.add(used_name, [], used)
            f.add(limit_name, [], limit)
            ratio = _ratio(used, limit)
            f.add("tradeops_resource_usage_ratio", [resource], ratio)
            f.add("tradeops_resource_headroom_ratio", [resource], 1.0 - ratio)
        f.add("tradeops_resource_sustained_breach_seconds", [], usage.breach_seconds)

    def _io_paths(self, f: _Families) -> None:
        stats = self.stats
        f.add_histogram("tradeops_decision_log_write_latency_seconds", [], stats.decision_log_write)
        f.add("tradeops_decision_log_backlog", [], float(stats.decision_log_backlog))
        f.add("tradeops_decision_log_write_failures_total", [], float(stats.decision_log_write_failures))
        f.add("tradeops_decision_log_head_seq", [], float(stats.decision_log_head_seq))
        errors = dict(stats.exchange_errors)
        latency = dict(stats.exchange_latency)
        exchanges = sorted({*latency, *(venue for venue, _ in errors)})
        kinds = sorted({*EXCHANGE_ERROR_KINDS, *(kind for _, kind in errors)})
        for exchange in exchanges:
            for kind in kinds:
                value = float(errors.get((exchange, kind), 0))
                f.add("tradeops_exchange_errors_total", [exchange, kind], value)
            if exchange in latency:
                f.add_histogram("tradeops_exchange_request_latency_seconds", [exchange], latency[exchange])
        for exchange, requests in sorted(dict(stats.venue_requests).items()):
            for endpoint, histogram in sorted(dict(requests.latency).items()):
                f.add_histogram("tradeops_exchange_endpoint_latency_seconds", [exchange, endpoint], histogram)
            for error_class, count in sorted(dict(requests.errors).items()):
                f.add("tradeops_exchange_request_errors_total", [exchange, error_class], float(count))
            f.add("tradeops_exchange_used_weight", [exchange], requests.used_weight)
            reconnects = (
                ("user_data", requests.stream_reconnects),
                ("market_data", requests.market_stream_reconnects),
            )
            for stream, count in reconnects:
                f.add("tradeops_exchange_stream_reconnects_total", [exchange, stream], float(count))
        for (exchange, symbol), age in sorted(stats.market_data_staleness.items()):
            f.add("tradeops_market_data_staleness_seconds", [exchange, symbol], min(age, 1e9))
        f.add("tradeops_reconcile_diffs", [], float(stats.reconcile_diffs))
        f.add("tradeops_reconcile_runs_total", [], float(stats.reconcile_runs))


def build_registry(stats: RuntimeStats, limits: ResourceLimits) -> CollectorRegistry:
    """A registry holding only the runtime collector (no process/platform collectors)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RuntimeCollector(stats, limits))
    return registry
