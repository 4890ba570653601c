"""Request and response models of the control API (they are the OpenAPI document)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tradeops.ops.controls import MAX_REASON_CHARS, MAX_TICKET_CHARS

# Reason and ticket are checked once, by the use case (non-blank reason; a ticket when
# control_api.require_ticket is on): a refusal there is a 400 naming the field. The schema only
# bounds their length and type (422).
Reason = Field(min_length=1, max_length=MAX_REASON_CHARS, description="Why (must not be blank)")
Ticket = Field(
    default="", max_length=MAX_TICKET_CHARS, description="Ticket id; required when control_api.require_ticket"
)


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorResponse(Model):
    detail: str


class Health(Model):
    status: Literal["ok"]


class Readiness(Model):
    status: Literal["ready", "not_ready"]
    checks: dict[str, str]


class OnDisableView(Model):
    cancel_open_orders: bool
    positions: Literal["hold", "reduce", "flatten"]


class OverrideView(Model):
    component: str | None
    path: str | None
    active: bool
    malformed: bool
    expired: bool
    problem: str | None
    reason: str | None
    ticket: str | None
    requested_by: str | None
    timestamp: str | None
    expires_at: str | None
    forced: bool
    on_disable: OnDisableView


class DisabledStrategyView(Model):
    strategy: str
    disabled: bool
    reason: str
    ticket: str
    requested_by: str
    until: str | None
    changed_at: str | None


class ObservedView(Model):
    """What the running scheduler last reported (its heartbeat); times are wall clock, UTC."""

    running: bool
    live: bool
    heartbeat_at: str
    heartbeat_age_seconds: float | None
    stale_after_seconds: float
    pid: int
    started_at: str
    steps: int
    cycles: int
    global_state: str
    override_seen: bool
    override_malformed: bool
    strategies: dict[str, str]
    halt_reason: str | None
    market_time: str | None
    last_order_at: str | None
    status: str


class StrategyStateView(Model):
    requested: str
    observed: str


class SchedulerStatusView(Model):
    status: Literal["disabled", "enabled", "no scheduler running", "not obeyed"]
    requested_status: Literal["disabled", "enabled"]
    observed: ObservedView | None
    strategy_states: dict[str, StrategyStateView]
    environment: str
    checked_at: str
    reasons: list[str]
    override: OverrideView | None
    overrides: list[OverrideView]
    disabled_strategies: list[DisabledStrategyView]
    enabled_strategies: list[str]


class ScheduleView(Model):
    schedule: str
    strategy: str
    cadence_seconds: float
    interval: str
    risk_profile: str
    risk_budget_bucket: str
    configured_allocation: float
    allocation: float
    disabled: bool
    reason: str | None
    until: str | None
    venues: list[str]
    symbols: list[str]


class ScheduleList(Model):
    schedules: list[ScheduleView]


class StrategyChange(Model):
    reason: str = Reason
    ticket: str = Ticket
    requested_by: str | None = Field(default=None, min_length=1, max_length=200)


class StrategyDisable(StrategyChange):
    duration_minutes: int | None = Field(default=None, ge=1, le=525_600)
    replace: bool = Field(
        default=False,
        description="Replace an active disable's reason/ticket (the entry records the old ones); "
        "without it a different second disable is refused with 409",
    )


class StrategyStatusView(Model):
    strategy: str
    disabled: bool
    reason: str
    ticket: str
    requested_by: str
    until: str | None
    changed_at: str | None


class StrategyDetailView(StrategyStatusView):
    scheduled: bool = Field(description="Scheduled in this environment's multi-strategy scheduler")
    risk_profile: str
    risk_budget_bucket: str = Field(description="`manual` while disabled")
    configured_allocation: float
    allocation: float = Field(description="Effective allocation: 0 while disabled")


class OverrideRequest(Model):
    reason: str = Reason
    ticket: str = Ticket
    requested_by: str | None = Field(default=None, min_length=1, max_length=200)
    component: Literal["multi_strategy", "decision_orchestrator"] = "multi_strategy"
    duration_minutes: int | None = Field(default=None, ge=1, le=525_600)
    force: bool = False
    positions: Literal["hold", "reduce", "flatten"] | None = Field(
        default=None,
        description="While halted: hold, only reduce or flatten (default runtime.kill_switch.positions)",
    )
    cancel_open_orders: bool | None = Field(
        default=None,
        description="Cancel open orders on engage (default runtime.kill_switch.cancel_open_orders)",
    )


class OverrideCreated(Model):
    path: str
    component: str
    replaced: bool
    document: dict[str, Any]


class OverrideRemoved(Model):
    removed: bool


class ScopeState(Model):
    state: Literal["active", "reducing", "halted"]
    reason: str
    changed_at: str | None


class TradingStateView(Model):
    environment: str
    checked_at: str
    new_orders_allowed: bool
    override_active: bool
    scopes: dict[str, ScopeState]
    disabled_strategies: list[str]


class DecisionLogEntries(Model):
    path: str
    entries: list[dict[str, Any]]
