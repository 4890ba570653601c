"""Live figures of the running runtime. The runtime writes them; observability reads them on scrape.

Plain counters and gauges, so the runtime does not depend on any metrics library.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from tradeops.domain.money import ZERO
from tradeops.domain.trading import TradingState

LATENCY_BUCKETS_SECONDS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


@dataclass(slots=True)
class Histogram:
    """Cumulative-friendly histogram: per-bucket counts (last slot is +Inf), sum and count."""

    buckets: tuple[float, ...] = LATENCY_BUCKETS_SECONDS
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.buckets) + 1)

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.total += value
        self.count += 1

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, cumulative count) pairs ending with (+inf, count)."""
        out, running = [], 0
        for bound, n in zip((*self.buckets, float("inf")), self.counts, strict=True):
            running += n
            out.append((bound, running))
        return out


@dataclass
class StrategyStats:
    strategy: str
    risk_profile: str
    signals: int = 0
    orders: int = 0
    fills: int = 0
    cycles: int = 0
    denials: Counter[str] = field(default_factory=Counter)
    fees: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    unrealized_pnl: Decimal = ZERO
    exposure: Decimal = ZERO
    allocation_allowed: Decimal = ZERO
    allocation_used: Decimal = ZERO
    day_pnl: Decimal = ZERO
    daily_loss_budget: Decimal = ZERO
    configured_allocation: float = 0.0  # the running configuration's allocation (before any disable)
    max_daily_loss_ratio: float = 0.0
    max_position_ratio: float = 0.0
    drawdown_ratio: float = 0.0
    max_drawdown_ratio: float = 0.0
    trading_state: TradingState = TradingState.ACTIVE
    disabled: bool = False
    latency: Histogram = field(default_factory=Histogram)
    drift: Histogram = field(default_factory=Histogram)
    last_cycle_ms: int = 0  # market time of the strategy's last cycle
    last_cycle_wall_ms: int = 0  # wall time of the step that ran it (0: no wall-clock run yet)

    @property
    def pnl_divergence_ratio(self) -> float:
        """Today's loss as a multiple of the daily loss budget (0 when in profit)."""
        if self.daily_loss_budget <= 0 or self.day_pnl >= 0:
            return 0.0
        return float(-self.day_pnl / self.daily_loss_budget)


@dataclass
class ResourceUsage:
    cpu_percent: float = 0.0
    memory_mb: float = 0.0
    io_read_mb_s: float = 0.0
    io_write_mb_s: float = 0.0
    breach_seconds: float = 0.0  # how long some resource has been over its limit without a break


@dataclass
class VenueRequestStats:
    """One live venue's HTTP requests as the adapter sees them (written by exchanges/venue_metrics)."""

    latency: dict[str, Histogram] = field(default_factory=dict)  # by endpoint, "GET /api/v3/order"
    errors: Counter[str] = field(default_factory=Counter)  # failed requests by error class
    used_weight: float = 0.0  # the venue's X-MBX-USED-WEIGHT-1M in its last answer
    stream_reconnects: int = 0  # user-data stream connections after the first
    market_stream_reconnects: int = 0  # market-data (websocket) stream connections after the first


HALT_REASONS = ("state_log_mismatch", "state_store_unwritable")


@dataclass
class RuntimeStats:
    environment: str
    strategies: dict[str, StrategyStats] = field(default_factory=dict)
    equity: Decimal = ZERO
    global_state: TradingState = TradingState.ACTIVE
    override_active: bool = False
    override_malformed: bool = False
    halt_reason: str | None = None  # state_log_mismatch / state_store_unwritable: trading refused
    resources: ResourceUsage = field(default_factory=ResourceUsage)
    decision_log_write: Histogram = field(default_factory=Histogram)
    decision_log_backlog: int = 0
    decision_log_write_failures: int = 0  # failed writes/fsyncs of the runtime log and operator entries
    decision_log_head_seq: int = 0  # last durable seq of the runtime log
    exchange_errors: Counter[tuple[str, str]] = field(default_factory=Counter)  # (venue, kind)
    exchange_latency: dict[str, Histogram] = field(default_factory=dict)  # per venue
    # live venues: seconds since each (venue, symbol) last brought a closed candle (beyond one interval)
    market_data_staleness: dict[tuple[str, str], float] = field(default_factory=dict)
    venue_requests: dict[str, VenueRequestStats] = field(default_factory=dict)  # per live venue
    reconcile_diffs: int = 0  # differences found by the last reconciliation with the venues
    reconcile_runs: int = 0
    started_ms: int = 0
    last_cycle_ms: int = 0
    last_step_wall_ms: int = 0  # wall time of the last scheduler step (last_cycle_ms is market time)
    heartbeat_ms: int = 0  # wall time of the last published heartbeat (0: none yet)
    heartbeat_stale_after_s: float = 0.0

    def strategy(self, name: str, risk_profile: str) -> StrategyStats:
        stats = self.strategies.get(name)
        if stats is None:
            stats = self.strategies[name] = StrategyStats(name, risk_profile)
        return stats
