"""Per-strategy operator use cases as `(context, Command) -> View`: disable, enable, show.

Every door (the `tradeops strategy` and `tradeops run --disable-strategy` commands, the control
API, the rollback steps) builds one of these commands and renders the view it gets back; the
defaults (who asks, the ticket of the one open incident), the `--until`/`--duration-minutes`
arithmetic and the timestamp format live here once.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradeops.config.models import MANUAL_BUCKET
from tradeops.domain.clock import iso_to_ms
from tradeops.domain.errors import UserInputError
from tradeops.ops.control_common import Door, check_strategy
from tradeops.ops.control_views import StrategyView, profile_of, strategy_view
from tradeops.ops.controls import disable_strategy, enable_strategy
from tradeops.ops.ticket_link import ResolveTicket, resolve_ticket
from tradeops.ops_ports import OpsContext
from tradeops.runtime.kill_switch import status_active

__all__ = [
    "DisableStrategy",
    "Door",
    "EnableStrategy",
    "ShowStrategy",
    "StrategyChanged",
    "StrategyDetail",
    "disable",
    "enable",
    "show",
    "until_ms",
]


@dataclass(frozen=True, slots=True)
class DisableStrategy:
    strategy: str
    reason: str
    ticket: str
    door: Door
    requested_by: str | None = None
    until: str | None = None  # ISO 8601; exclusive with duration_minutes
    duration_minutes: int | None = None
    replace: bool = False
    link_open_incident: bool = False  # a blank ticket takes the one open incident's


@dataclass(frozen=True, slots=True)
class EnableStrategy:
    strategy: str
    reason: str
    ticket: str
    door: Door
    requested_by: str | None = None
    link_open_incident: bool = False


@dataclass(frozen=True, slots=True)
class ShowStrategy:
    strategy: str


@dataclass(frozen=True, slots=True)
class StrategyChanged:
    """The strategy's state after a disable or enable; `changed` is False when nothing was done
    (enabling a strategy that is not disabled, or the same disable again)."""

    status: StrategyView
    changed: bool
    ticket_notice: str | None = None  # set when the ticket was taken from the one open incident

    @property
    def message(self) -> str:
        name = self.status.strategy
        if self.status.disabled:
            return f"strategy {name} disabled (risk_budget_bucket=manual, allocation 0): {self.status.reason}"
        if self.changed:
            return f"strategy {name} enabled (status=restored)"
        return f"strategy {name} is not disabled; nothing changed"

    def to_json(self) -> dict[str, object]:
        return self.status.to_json()


@dataclass(frozen=True, slots=True)
class StrategyDetail:
    """One strategy: its operator state and what it trades with right now."""

    status: StrategyView
    scheduled: bool
    risk_profile: str
    risk_budget_bucket: str
    configured_allocation: float
    allocation: float

    def to_json(self) -> dict[str, object]:
        return {
            **self.status.to_json(),
            "scheduled": self.scheduled,
            "risk_profile": self.risk_profile,
            "risk_budget_bucket": self.risk_budget_bucket,
            "configured_allocation": self.configured_allocation,
            "allocation": self.allocation,
        }

    def lines(self) -> list[str]:
        state = f"DISABLED: {self.status.reason or '-'}" if self.status.disabled else "enabled"
        if self.status.disabled and self.status.until:
            state += f" (until {self.status.until})"
        rows = [
            f"strategy {self.status.strategy}: {state}",
            f"  scheduled {'yes' if self.scheduled else 'no'}; risk profile {self.risk_profile}; "
            f"bucket {self.risk_budget_bucket}; allocation {self.allocation} "
            f"(configured {self.configured_allocation})",
        ]
        if self.status.changed_at:
            rows.append(
                f"  last change {self.status.changed_at} by {self.status.requested_by or '-'} "
                f"(ticket {self.status.ticket or '-'}: {self.status.reason or '-'})"
            )
        return rows


def until_ms(until: str | None, duration_minutes: int | None, now_ms: int) -> int | None:
    """When a disable ends by itself: `--until` (ISO 8601) or `--duration-minutes` from now."""
    if until and duration_minutes:
        raise UserInputError("--until and --duration-minutes are exclusive; give one")
    if duration_minutes:
        return now_ms + duration_minutes * 60_000
    if until:
        try:
            return iso_to_ms(until)
        except ValueError:
            raise UserInputError(f"--until {until!r}: use ISO 8601, e.g. 2026-03-01T12:00:00Z") from None
    return None


def _ticket(ctx: OpsContext, ticket: str, link: bool) -> tuple[str, str | None]:
    if not link:
        return ticket, None
    resolved = resolve_ticket(ctx, ResolveTicket(ticket))
    return resolved.ticket, resolved.notice


def disable(ctx: OpsContext, command: DisableStrategy) -> StrategyChanged:
    """Disable one strategy (allocation 0, bucket manual) and log it; see `disable_strategy`."""
    name = check_strategy(ctx, command.strategy)
    ticket, notice = _ticket(ctx, command.ticket, command.link_open_incident)
    before = ctx.store.strategy_statuses().get(name)
    status = disable_strategy(
        ctx,
        name,
        reason=command.reason,
        ticket=ticket,
        actor=command.door.actor(command.requested_by),
        until_ms=until_ms(command.until, command.duration_minutes, ctx.clock_ms()),
        replace=command.replace,
    )
    return StrategyChanged(strategy_view(status, ctx.clock_ms()), status != before, notice)


def enable(ctx: OpsContext, command: EnableStrategy) -> StrategyChanged:
    """Restore one strategy to its risk profile and log it; a strategy that is not disabled is left
    alone (nothing logged, `changed` False)."""
    name = check_strategy(ctx, command.strategy)
    ticket, notice = _ticket(ctx, command.ticket, command.link_open_incident)
    before = ctx.store.strategy_statuses().get(name)
    status = enable_strategy(
        ctx, name, reason=command.reason, ticket=ticket, actor=command.door.actor(command.requested_by)
    )
    changed = before is not None and before.disabled
    return StrategyChanged(strategy_view(status, ctx.clock_ms()), changed, notice)


def show(ctx: OpsContext, command: ShowStrategy) -> StrategyDetail:
    """One strategy's operator state, risk profile and effective allocation."""
    name = check_strategy(ctx, command.strategy)
    now = ctx.clock_ms()
    current = ctx.store.strategy_statuses().get(name)
    view = strategy_view(current, now, name)
    profile = profile_of(ctx.cfg, name)
    configured = ctx.cfg.risk_profiles[profile].allocation(name)
    disabled = status_active(current, now)
    return StrategyDetail(
        status=view,
        scheduled=name in ctx.cfg.scheduler().schedules,
        risk_profile=profile,
        risk_budget_bucket=MANUAL_BUCKET if disabled else profile,
        configured_allocation=configured,
        allocation=0.0 if disabled else configured,
    )
