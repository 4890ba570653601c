"""Read-only views of operator state: the scheduler status probe and the schedule list.

Re-exported by tradeops.ops.controls (the CLI and the control API import them from there).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tradeops.config.models import MANUAL_BUCKET, STRATEGY_NAMES, AppConfig
from tradeops.config.overrides import format_timestamp
from tradeops.domain.trading import StrategyStatus
from tradeops.ops_ports import OpsContext
from tradeops.runtime.kill_switch import status_active
from tradeops.runtime.overrides import OverrideState


def valid_strategy_names(cfg: AppConfig) -> list[str]:
    """The strategy names plus any schedule named otherwise, in a stable order."""
    names = list(STRATEGY_NAMES)
    for scheduler in cfg.runtime.multi_strategy_schedulers.values():
        names.extend(n for n in scheduler.schedules if n not in names)
    return names


def profile_of(cfg: AppConfig, strategy: str) -> str:
    """The risk profile a strategy trades under: its schedule's, else the default environment's."""
    for scheduler in (cfg.scheduler(), *cfg.runtime.multi_strategy_schedulers.values()):
        if strategy in scheduler.schedules:
            return scheduler.schedules[strategy].risk_profile
    return "balanced" if "balanced" in cfg.risk_profiles else next(iter(cfg.risk_profiles))


def iso_or_none(ts_ms: int | None) -> str | None:
    """An operator timestamp as ISO 8601 UTC; None (and 0, "never set") stay None."""
    return format_timestamp(ts_ms) if ts_ms else None


def override_view(state: OverrideState, now_ms: int) -> dict[str, object]:
    doc = state.override
    return {
        "component": state.component,
        "path": str(state.path) if state.path else None,
        "active": state.active_at(now_ms),
        "malformed": state.malformed,
        "expired": state.expired or (state.active and not state.active_at(now_ms)),
        "problem": state.problem or None,
        "reason": state.reason or None,
        "ticket": doc.ticket if doc and not state.malformed else None,
        "requested_by": doc.requested_by if doc and not state.malformed else None,
        "timestamp": doc.timestamp if doc and not state.malformed else None,
        "expires_at": doc.expires_at if doc and not state.malformed else None,
        "forced": doc.forced if doc and not state.malformed else False,
        "on_disable": state.on_disable.model_dump(),
    }


@dataclass(frozen=True, slots=True)
class StrategyView:
    """A strategy's operator state as every door shows it."""

    strategy: str
    disabled: bool  # disabled now (a disable past its `until` no longer counts)
    reason: str
    ticket: str
    requested_by: str
    until: str | None
    changed_at: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "strategy": self.strategy,
            "disabled": self.disabled,
            "reason": self.reason,
            "ticket": self.ticket,
            "requested_by": self.requested_by,
            "until": self.until,
            "changed_at": self.changed_at,
        }


def strategy_view(status: StrategyStatus | None, now_ms: int, name: str = "") -> StrategyView:
    """The view of `status` at `now_ms` (no status: `name`, never disabled)."""
    if status is None:
        return StrategyView(name, False, "", "", "", None, None)
    return StrategyView(
        strategy=status.strategy,
        disabled=status_active(status, now_ms),
        reason=status.reason,
        ticket=status.ticket,
        requested_by=status.requested_by,
        until=iso_or_none(status.until_ms),
        changed_at=iso_or_none(status.changed_ms),
    )


@dataclass
class SchedulerStatus:
    status: str  # "disabled" | "enabled"
    environment: str
    checked_at: str
    reasons: list[str] = field(default_factory=list)
    override: dict[str, object] | None = None  # the leading override file, if any is present
    overrides: list[dict[str, object]] = field(default_factory=list)
    disabled_strategies: list[dict[str, object]] = field(default_factory=list)
    enabled_strategies: list[str] = field(default_factory=list)

    @property
    def disabled(self) -> bool:
        return self.status == "disabled"

    def to_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "environment": self.environment,
            "checked_at": self.checked_at,
            "reasons": list(self.reasons),
            "override": self.override,
            "overrides": list(self.overrides),
            "disabled_strategies": list(self.disabled_strategies),
            "enabled_strategies": list(self.enabled_strategies),
        }


def scheduler_status(ctx: OpsContext) -> SchedulerStatus:
    """`disabled` while an override is active (or malformed) or every scheduled strategy is disabled."""
    now = ctx.clock_ms()
    state = ctx.overrides.read_all(now)
    statuses = ctx.store.strategy_statuses()
    scheduled = list(ctx.cfg.scheduler().schedules)
    disabled = [
        strategy_view(statuses[n], now).to_json()
        for n in valid_strategy_names(ctx.cfg)
        if status_active(statuses.get(n), now)
    ]
    disabled_names = {str(d["strategy"]) for d in disabled}
    reasons: list[str] = []
    if state.active_at(now):
        reasons.append(f"override {state.component}: {state.reason}")
    if scheduled and all(n in disabled_names for n in scheduled):
        reasons.append("every scheduled strategy is disabled")
    return SchedulerStatus(
        status="disabled" if reasons else "enabled",
        environment=ctx.environment,
        checked_at=format_timestamp(now),
        reasons=reasons,
        override=override_view(state, now) if state.present else None,
        overrides=[override_view(f, now) for f in state.files],
        disabled_strategies=disabled,
        enabled_strategies=[n for n in scheduled if n not in disabled_names],
    )


def list_schedules(ctx: OpsContext) -> list[dict[str, object]]:
    """Per schedule: cadence, profile, effective allocation and bucket (0 and manual when disabled)."""
    now = ctx.clock_ms()
    statuses = ctx.store.strategy_statuses()
    rows: list[dict[str, object]] = []
    for name, schedule in ctx.cfg.scheduler().schedules.items():
        status = statuses.get(name)
        disabled = status_active(status, now)
        profile = schedule.risk_profile
        rows.append(
            {
                "schedule": name,
                "strategy": schedule.strategy or name,
                "cadence_seconds": schedule.cadence_seconds,
                "interval": schedule.interval,
                "risk_profile": profile,
                "risk_budget_bucket": MANUAL_BUCKET if disabled else profile,
                "configured_allocation": ctx.cfg.risk_profiles[profile].allocation(name),
                "allocation": 0.0 if disabled else ctx.cfg.risk_profiles[profile].allocation(name),
                "disabled": disabled,
                "reason": status.reason if disabled and status else None,
                "until": iso_or_none(status.until_ms) if disabled and status else None,
                "venues": list(schedule.venues),
                "symbols": list(schedule.symbols),
            }
        )
    return rows
