"""Automatic incident triggers: the three rollback conditions of the runbooks, checked on live stats.

`evaluate_triggers` is pure and deterministic: it compares the current `RuntimeStats` with the
cursors kept in `TriggerState` (counter values and histogram buckets seen at the previous
evaluation) and returns what fired. Each condition fires once per episode; the episode ends when
the condition clears. `IncidentAutomation` turns fired triggers into incidents and, when a
trigger's action is "disable", disables the affected strategies or the whole scheduler.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from tradeops.config.models import AppConfig, IncidentsConfig
from tradeops.domain.errors import AlreadyExists, TradeopsError
from tradeops.ops.control_common import Door
from tradeops.ops.controls import Actor, create_override, disable_strategy
from tradeops.ops.incident_control import OpenIncident, open_
from tradeops.ops_ports import OpsContext
from tradeops.runtime.stats import Histogram, RuntimeStats

__all__ = [
    "AutomationOutcome",
    "IncidentAutomation",
    "TriggerFired",
    "TriggerState",
    "evaluate_triggers",
]

log = logging.getLogger(__name__)

TriggerName = Literal["pnl_divergence", "exchange_errors", "latency_spike", "no_fills", "resource_breach"]
Scope = Literal["strategy", "venue", "scheduler"]
SCHEDULER_SUBJECT = "multi_strategy"
AUTOMATION_ACTOR = Actor(name="incident-automation", via="automation")


@dataclass(frozen=True)
class TriggerFired:
    """One trigger that started an episode: what, about whom, which action the config asks for."""

    trigger: TriggerName
    scope: Scope
    subject: str  # strategy name, venue, or "multi_strategy"
    action: Literal["alert", "disable"]
    title: str
    figures: dict[str, float | int | str]

    @property
    def key(self) -> str:
        return f"{self.trigger}:{self.subject}"


@dataclass
class VenueCursor:
    errors: int = 0  # cumulative exchange errors at the previous evaluation
    attempts: int = 0  # latency observations (every submit attempt) at the previous evaluation
    counts: list[int] = field(default_factory=list)  # latency bucket counts at the previous evaluation
    latency_total: float = 0.0
    streak: int = 0  # errors since the last interval with a successful submit
    recent: deque[tuple[int, int]] = field(default_factory=deque)  # (now_ms, new errors) in the window


@dataclass
class StrategyCursor:
    orders: int = 0
    fills: int = 0
    unfilled_since_ms: int | None = None  # first evaluation that saw orders sent after the last fill


@dataclass
class TriggerState:
    """What `evaluate_triggers` remembers between calls. Start with `TriggerState()`."""

    open_episodes: set[str] = field(default_factory=set)
    venues: dict[str, VenueCursor] = field(default_factory=dict)
    strategies: dict[str, StrategyCursor] = field(default_factory=dict)


def _episode(state: TriggerState, key: str, active: bool) -> bool:
    """Record the condition; True only when an episode starts now."""
    if not active:
        state.open_episodes.discard(key)
        return False
    if key in state.open_episodes:
        return False
    state.open_episodes.add(key)
    return True


def _pnl_divergence(stats: RuntimeStats, cfg: IncidentsConfig, state: TriggerState) -> list[TriggerFired]:
    rule = cfg.triggers.pnl_divergence
    fired = []
    for name in sorted(stats.strategies):
        strategy = stats.strategies[name]
        if strategy.disabled:
            continue  # someone already acted; the episode stays as it was
        ratio = strategy.pnl_divergence_ratio
        if _episode(state, f"pnl_divergence:{name}", ratio > rule.multiple_of_daily_budget):
            fired.append(
                TriggerFired(
                    "pnl_divergence",
                    "strategy",
                    name,
                    rule.action,
                    f"{name}: day loss {ratio:.2f}x the daily budget "
                    f"(limit {rule.multiple_of_daily_budget:g}x)",
                    {
                        "divergence_ratio": round(ratio, 4),
                        "limit_multiple": rule.multiple_of_daily_budget,
                        "day_pnl": str(strategy.day_pnl),
                        "daily_loss_budget": str(strategy.daily_loss_budget),
                    },
                )
            )
    return fired


def _venue_errors(stats: RuntimeStats) -> dict[str, dict[str, int]]:
    by_venue: dict[str, dict[str, int]] = {}
    for (venue, kind), count in stats.exchange_errors.items():
        by_venue.setdefault(venue, {})[kind] = count
    return by_venue


def _growth(now: int, before: int) -> int:
    """Counter growth; a counter that went backwards was restarted, so all of it is new."""
    return now - before if now >= before else now


def _bucket_growth(hist: Histogram, cursor: VenueCursor) -> tuple[list[int], float]:
    if len(cursor.counts) != len(hist.counts) or any(
        n < b for n, b in zip(hist.counts, cursor.counts, strict=True)
    ):
        return list(hist.counts), hist.total
    return [n - b for n, b in zip(hist.counts, cursor.counts, strict=True)], hist.total - cursor.latency_total


def _latency_spike(
    hist: Histogram, growth: list[int], total: float, threshold_ms: float
) -> dict[str, float | int]:
    """Observations certainly above the threshold (their bucket starts at or above it) and the mean."""
    threshold = threshold_ms / 1000.0
    lower_bounds = (0.0, *hist.buckets)
    above = sum(n for low, n in zip(lower_bounds, growth, strict=True) if low >= threshold)
    observed = sum(growth)
    mean_ms = total / observed * 1000.0 if observed else 0.0
    return {"observations": observed, "above_threshold": above, "mean_ms": round(mean_ms, 3)}


def _exchange(
    stats: RuntimeStats, cfg: IncidentsConfig, now_ms: int, state: TriggerState
) -> list[TriggerFired]:
    rule = cfg.triggers.exchange_failures
    window_ms = int(rule.error_window_minutes * 60_000)
    errors_by_venue = _venue_errors(stats)
    fired: list[TriggerFired] = []
    for venue in sorted({*errors_by_venue, *stats.exchange_latency}):
        cursor = state.venues.setdefault(venue, VenueCursor())
        kinds = errors_by_venue.get(venue, {})
        errors = sum(kinds.values())
        hist = stats.exchange_latency.get(venue)
        attempts = hist.count if hist is not None else 0
        new_errors = _growth(errors, cursor.errors)
        successes = max(0, _growth(attempts, cursor.attempts) - new_errors)
        # Order inside one interval is unknown: any successful submit in it ends the streak.
        cursor.streak = 0 if successes else cursor.streak + new_errors
        if new_errors:
            cursor.recent.append((now_ms, new_errors))
        while cursor.recent and cursor.recent[0][0] <= now_ms - window_ms:
            cursor.recent.popleft()
        in_window = sum(n for _, n in cursor.recent)
        failing = cursor.streak > rule.max_consecutive_errors or in_window > rule.max_consecutive_errors
        if _episode(state, f"exchange_errors:{venue}", failing):
            fired.append(
                TriggerFired(
                    "exchange_errors",
                    "venue",
                    venue,
                    rule.action,
                    f"{venue}: {max(cursor.streak, in_window)} exchange errors "
                    f"(limit {rule.max_consecutive_errors} in a row or in {rule.error_window_minutes:g} min)",
                    {
                        "consecutive_errors": cursor.streak,
                        "errors_in_window": in_window,
                        "window_minutes": rule.error_window_minutes,
                        "limit": rule.max_consecutive_errors,
                        **{f"errors_{kind}": n for kind, n in sorted(kinds.items())},
                    },
                )
            )
        cursor.errors, cursor.attempts = errors, attempts
        if hist is not None:
            growth, total = _bucket_growth(hist, cursor)
            cursor.counts, cursor.latency_total = list(hist.counts), hist.total
            if sum(growth):  # an interval without submits says nothing about latency
                spike = _latency_spike(hist, growth, total, rule.latency_spike_ms)
                spiking = bool(spike["above_threshold"]) or spike["mean_ms"] > rule.latency_spike_ms
                if _episode(state, f"latency_spike:{venue}", spiking):
                    fired.append(
                        TriggerFired(
                            "latency_spike",
                            "venue",
                            venue,
                            rule.action,
                            f"{venue}: exchange latency above {rule.latency_spike_ms:g} ms",
                            {**spike, "threshold_ms": rule.latency_spike_ms},
                        )
                    )
    return fired


def _no_fills(
    stats: RuntimeStats, cfg: IncidentsConfig, now_ms: int, state: TriggerState
) -> list[TriggerFired]:
    rule = cfg.triggers.exchange_failures
    limit_ms = rule.no_fill_minutes * 60_000
    fired = []
    for name in sorted(stats.strategies):
        strategy = stats.strategies[name]
        cursor = state.strategies.setdefault(name, StrategyCursor())
        if strategy.fills != cursor.fills:
            cursor.unfilled_since_ms = None
        elif strategy.orders > cursor.orders and cursor.unfilled_since_ms is None:
            cursor.unfilled_since_ms = now_ms
        cursor.orders, cursor.fills = strategy.orders, strategy.fills
        if strategy.disabled:
            continue
        since = cursor.unfilled_since_ms
        if _episode(state, f"no_fills:{name}", since is not None and now_ms - since >= limit_ms):
            minutes = (now_ms - since) / 60_000 if since is not None else 0.0
            fired.append(
                TriggerFired(
                    "no_fills",
                    "strategy",
                    name,
                    rule.action,
                    f"{name}: orders sent but no fill for {minutes:.0f} min (limit {rule.no_fill_minutes:g})",
                    {
                        "minutes_without_fill": round(minutes, 2),
                        "limit_minutes": rule.no_fill_minutes,
                        "orders": strategy.orders,
                        "fills": strategy.fills,
                    },
                )
            )
    return fired


def _resource_breach(stats: RuntimeStats, cfg: IncidentsConfig, state: TriggerState) -> list[TriggerFired]:
    rule = cfg.triggers.resource_breach
    usage = stats.resources
    if not _episode(
        state, f"resource_breach:{SCHEDULER_SUBJECT}", usage.breach_seconds > rule.sustained_minutes * 60
    ):
        return []
    return [
        TriggerFired(
            "resource_breach",
            "scheduler",
            SCHEDULER_SUBJECT,
            rule.action,
            f"resource budget breached for {usage.breach_seconds / 60:.1f} min "
            f"(limit {rule.sustained_minutes:g} min)",
            {
                "breach_seconds": round(usage.breach_seconds, 3),
                "limit_minutes": rule.sustained_minutes,
                "cpu_percent": round(usage.cpu_percent, 2),
                "memory_mb": round(usage.memory_mb, 2),
                "io_read_mb_s": round(usage.io_read_mb_s, 3),
                "io_write_mb_s": round(usage.io_write_mb_s, 3),
            },
        )
    ]


def evaluate_triggers(
    stats: RuntimeStats, cfg: IncidentsConfig, now_ms: int, state: TriggerState
) -> list[TriggerFired]:
    """Triggers whose episode starts at this evaluation, in a stable order. Updates `state`.

    A disabled strategy fires nothing (someone already acted) and keeps its episode as it was, so
    an operator who re-enables it is not overruled while the figure is still high.
    """
    triggers = cfg.triggers
    fired: list[TriggerFired] = []
    if triggers.pnl_divergence.enabled:
        fired += _pnl_divergence(stats, cfg, state)
    if triggers.exchange_failures.enabled:
        fired += _exchange(stats, cfg, now_ms, state)
        fired += _no_fills(stats, cfg, now_ms, state)
    if triggers.resource_breach.enabled:
        fired += _resource_breach(stats, cfg, state)
    return fired


# --- turning fired triggers into incidents and actions --------------------------------------------


@dataclass(frozen=True)
class AutomationOutcome:
    fired: TriggerFired
    incident_id: str | None
    disabled: tuple[str, ...] = ()
    override_created: bool = False
    error: str | None = None


def strategies_on_venue(cfg: AppConfig, venue: str, running: list[str]) -> list[str]:
    """Schedules among `running` that trade on `venue` in any configured scheduler."""
    on_venue = {
        name
        for scheduler in cfg.runtime.multi_strategy_schedulers.values()
        for name, schedule in scheduler.schedules.items()
        if venue in schedule.venues
    }
    return sorted(name for name in running if name in on_venue)


class IncidentAutomation:
    """Called by the running scheduler with its stats; opens incidents and applies actions."""

    def __init__(
        self, ctx: OpsContext, cfg: IncidentsConfig | None = None, *, actor: Actor = AUTOMATION_ACTOR
    ):
        self.ctx = ctx
        self.cfg = cfg or ctx.cfg.incidents
        self.actor = actor
        self.state = TriggerState()

    def on_tick(self, stats: RuntimeStats, now_ms: int) -> list[AutomationOutcome]:
        """Evaluate the triggers; for each one that fired, open an incident and act."""
        return [
            self._handle(fired, stats) for fired in evaluate_triggers(stats, self.cfg, now_ms, self.state)
        ]

    def _handle(self, fired: TriggerFired, stats: RuntimeStats) -> AutomationOutcome:
        ctx = self.ctx
        try:
            command = OpenIncident(
                fired.title,
                "critical",
                Door("scheduler", self.actor.name),
                metadata={
                    "trigger": fired.trigger,
                    "scope": fired.scope,
                    "subject": fired.subject,
                    "action": fired.action,
                    "figures": fired.figures,
                },
                # A new incident has nothing in the runtime log yet: skip scanning it on the
                # scheduler's thread (`incident show` adds those entries later).
                scan_runtime_log=False,
            )
            incident = open_(ctx, command).incident
        except (TradeopsError, OSError) as exc:
            # Not recorded: let the next tick try again rather than lose the incident.
            self.state.open_episodes.discard(fired.key)
            log.error("incident trigger %s fired but no incident could be opened: %s", fired.key, exc)
            return AutomationOutcome(fired, None, error=str(exc))
        if fired.action != "disable":
            return AutomationOutcome(fired, incident.id)
        try:
            if fired.scope == "scheduler":
                return AutomationOutcome(
                    fired, incident.id, override_created=self._halt(fired, stats, incident.id)
                )
            return AutomationOutcome(fired, incident.id, disabled=self._disable(fired, stats, incident.id))
        except (TradeopsError, OSError) as exc:
            log.error("incident %s: automatic %s failed: %s", incident.id, fired.action, exc)
            return AutomationOutcome(fired, incident.id, error=str(exc))

    def _disable(self, fired: TriggerFired, stats: RuntimeStats, incident_id: str) -> tuple[str, ...]:
        targets = (
            [fired.subject]
            if fired.scope == "strategy"
            else strategies_on_venue(self.ctx.cfg, fired.subject, list(stats.strategies))
        )
        done = []
        for name in targets:
            current = stats.strategies.get(name)
            if current is not None and current.disabled:
                continue
            disable_strategy(
                self.ctx,
                name,
                reason=f"incident {incident_id}: {fired.title}",
                ticket=incident_id,
                actor=self.actor,
            )
            done.append(name)
        return tuple(done)

    def _halt(self, fired: TriggerFired, stats: RuntimeStats, incident_id: str) -> bool:
        if stats.override_active:
            return False
        try:
            create_override(
                self.ctx,
                reason=f"incident {incident_id}: {fired.title}",
                ticket=incident_id,
                requested_by=self.actor.name,
                actor=self.actor,
            )
        except AlreadyExists:
            return False  # an operator's override is already in place: leave it alone
        return True
