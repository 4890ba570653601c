"""Request and response models of the control API (they are the OpenAPI document)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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


class SchedulerStatusView(Model):
    status: Literal["disabled", "enabled"]
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
    reason: str = Field(min_length=1, max_length=500)
    ticket: str = Field(min_length=1, max_length=100)
    requested_by: str | None = Field(default=None, min_length=1, max_length=200)


class StrategyDisable(StrategyChange):
    duration_minutes: int | None = Field(default=None, ge=1, le=525_600)


class StrategyStatusView(Model):
    strategy: str
    disabled: bool
    reason: str
    ticket: str
    requested_by: str
    until: str | None
    changed_at: str | None


class OverrideRequest(Model):
    reason: str = Field(min_length=1, max_length=500)
    ticket: str = Field(min_length=1, max_length=100)
    requested_by: str | None = Field(default=None, min_length=1, max_length=200)
    component: Literal["multi_strategy", "decision_orchestrator"] = "multi_strategy"
    duration_minutes: int | None = Field(default=None, ge=1, le=525_600)
    force: bool = False


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
