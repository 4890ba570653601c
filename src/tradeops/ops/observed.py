"""Requested against observed: what the operator asked for (override files, strategy status in the
store) next to what the running scheduler last reported doing (its heartbeat).

`disabled` is answered only when the running scheduler has obeyed; with no live heartbeat the answer
is `no scheduler running`. A scheduler that has not caught up yet is waited for, briefly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tradeops.config.overrides import format_timestamp
from tradeops.ops.control_views import SchedulerStatus, scheduler_status
from tradeops.ops_ports import OpsContext
from tradeops.runtime.heartbeat import HEARTBEAT_KV_KEY, Heartbeat

NO_SCHEDULER = "no scheduler running"
EXIT_NO_SCHEDULER = 3  # no live heartbeat: nothing is running that could obey
EXIT_NOT_OBEYED = 4  # a running scheduler still does something other than requested
STOPPED_STATES = frozenset({"halted", "reducing"})


@dataclass(frozen=True, slots=True)
class ObservedStatusQuery:
    """Read requested and observed state; wait up to `wait_s` for a live scheduler to agree."""

    wait_s: float = 2.0
    poll_s: float = 0.05


@dataclass(frozen=True, slots=True)
class ObservedStatusView:
    verdict: str  # "disabled" | "enabled" | "no scheduler running" | "not obeyed"
    requested: SchedulerStatus
    heartbeat: Heartbeat | None
    heartbeat_age_s: float | None
    observed_disabled: bool | None
    checked_at: str
    strategies: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> requested/observed

    @property
    def exit_code(self) -> int:
        if self.verdict == NO_SCHEDULER:
            return EXIT_NO_SCHEDULER
        return EXIT_NOT_OBEYED if self.verdict == "not obeyed" else 0

    @property
    def observed(self) -> dict[str, object] | None:
        beat = self.heartbeat
        if beat is None:
            return None
        return {
            "running": beat.running,
            "live": self.verdict != NO_SCHEDULER,
            "heartbeat_at": format_timestamp(beat.wall_ms),
            "heartbeat_age_seconds": self.heartbeat_age_s,
            "stale_after_seconds": beat.stale_after_s,
            "pid": beat.pid,
            "started_at": format_timestamp(beat.started_ms),
            "steps": beat.steps,
            "cycles": beat.cycles,
            "global_state": beat.global_state,
            "override_seen": beat.override_active,
            "override_malformed": beat.override_malformed,
            "strategies": dict(beat.strategies),
            "halt_reason": beat.halt_reason,
            "market_time": format_timestamp(beat.market_time_ms) if beat.market_time_ms else None,
            "last_order_at": format_timestamp(beat.last_order_ms) if beat.last_order_ms else None,
            "status": ("disabled" if self.observed_disabled else "enabled")
            if self.verdict != NO_SCHEDULER
            else NO_SCHEDULER,
        }

    def to_dict(self) -> dict[str, object]:
        requested = self.requested.to_dict()
        return {
            **requested,  # the requested view keeps its keys (status: what was asked for)
            "status": self.verdict,
            "requested_status": requested["status"],
            "observed": self.observed,
            "strategy_states": self.strategies,
            "checked_at": self.checked_at,
        }


def read_heartbeat(ctx: OpsContext) -> Heartbeat | None:
    text = ctx.store.kv_get(HEARTBEAT_KV_KEY)
    return Heartbeat.from_json(text) if text else None


def observed_disabled(beat: Heartbeat, scheduled: list[str]) -> bool:
    """The scheduler opens no new risk: the global switch seen, or every scheduled strategy disabled."""
    if beat.override_active or beat.override_malformed or beat.global_state in STOPPED_STATES:
        return True
    return bool(scheduled) and all(beat.strategies.get(n) == "disabled" for n in scheduled)


def _strategy_rows(
    requested: SchedulerStatus, beat: Heartbeat | None, names: list[str]
) -> dict[str, dict[str, str]]:
    asked = {str(d["strategy"]) for d in requested.disabled_strategies}
    rows: dict[str, dict[str, str]] = {}
    for name in names:
        rows[name] = {
            "requested": "disabled" if name in asked else "enabled",
            "observed": beat.strategies.get(name, "unknown") if beat is not None else NO_SCHEDULER,
        }
    return rows


def _agrees(requested: SchedulerStatus, beat: Heartbeat, names: list[str]) -> bool:
    if requested.disabled != observed_disabled(beat, names):
        return False
    if beat.override_active or beat.global_state in STOPPED_STATES:
        return True  # the global stop covers every strategy
    asked = {str(d["strategy"]) for d in requested.disabled_strategies}
    return all((beat.strategies.get(n) == "disabled") == (n in asked) for n in names if n in beat.strategies)


def observed_status(
    ctx: OpsContext, query: ObservedStatusQuery, sleep: Callable[[float], None] = time.sleep
) -> ObservedStatusView:
    """Requested and observed state; `disabled` only when a live scheduler has obeyed."""
    names = list(ctx.cfg.scheduler().schedules)
    deadline = ctx.clock_ms() + int(query.wait_s * 1000)
    while True:
        now = ctx.clock_ms()
        requested = scheduler_status(ctx)
        beat = read_heartbeat(ctx)
        live = beat is not None and beat.live_at(now)
        agrees = live and beat is not None and _agrees(requested, beat, names)
        if not live or agrees or now >= deadline:
            break
        sleep(query.poll_s)
    age = beat.age_s(now) if beat is not None else None
    if not live or beat is None:
        verdict = NO_SCHEDULER
        seen: bool | None = None
    else:
        seen = observed_disabled(beat, names)
        verdict = requested.status if agrees else "not obeyed"
    return ObservedStatusView(
        verdict=verdict,
        requested=requested,
        heartbeat=beat,
        heartbeat_age_s=round(age, 3) if age is not None else None,
        observed_disabled=seen,
        checked_at=format_timestamp(now),
        strategies=_strategy_rows(requested, beat if live else None, names),
    )
