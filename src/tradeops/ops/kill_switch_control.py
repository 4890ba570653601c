"""The kill switch as `(context, Command) -> View`: halt trading (write the override file) and resume
it (remove the file). `tradeops kill-switch disable|clear`, `POST|DELETE /v1/override` and the
rollback steps build these commands; `create_override` / `remove_override` do the work."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from tradeops.config.overrides import PositionsPolicy
from tradeops.domain.errors import UserInputError
from tradeops.ops.control_common import Door
from tradeops.ops.override_controls import create_override, remove_override
from tradeops.ops_ports import OpsContext

POSITIONS = ("hold", "reduce", "flatten")


@dataclass(frozen=True, slots=True)
class HaltTrading:
    reason: str
    ticket: str
    door: Door
    requested_by: str | None = None
    component: str = "multi_strategy"
    duration_minutes: int | None = None
    force: bool = False
    positions: str | None = None  # hold | reduce | flatten; None: runtime.kill_switch.positions
    cancel_open_orders: bool | None = None  # None: runtime.kill_switch.cancel_open_orders


@dataclass(frozen=True, slots=True)
class TradingHalted:
    path: str
    component: str
    replaced: bool
    document: dict[str, object]
    expires_at: str | None
    cancel_open_orders: bool
    positions: str

    @property
    def notice(self) -> str:
        expiry = (
            f"expires_at {self.expires_at}" if self.expires_at else "no expiry (remove the file to resume)"
        )
        orders = "cancel" if self.cancel_open_orders else "keep"
        return (
            f"{self.component} disabled: new orders stop; open orders: {orders}; "
            f"positions: {self.positions}; {expiry}"
            + (" (replaced an existing override)" if self.replaced else "")
        )

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "component": self.component,
            "replaced": self.replaced,
            "document": self.document,
        }


@dataclass(frozen=True, slots=True)
class ResumeTrading:
    reason: str
    door: Door
    requested_by: str | None = None
    ticket: str = ""  # blank: the removed override's own ticket
    component: str | None = None  # None: every component


@dataclass(frozen=True, slots=True)
class TradingResumed:
    removed: bool
    directory: str

    @property
    def message(self) -> str:
        if self.removed:
            return f"override removed from {self.directory}: trading resumes"
        return f"no override in {self.directory}"

    def to_json(self) -> dict[str, object]:
        return {"removed": self.removed}


def _positions(value: str | None) -> PositionsPolicy | None:
    if value is not None and value not in POSITIONS:
        raise UserInputError(f"--positions {value}: use one of {', '.join(POSITIONS)}")
    return cast("PositionsPolicy | None", value)


def halt(ctx: OpsContext, command: HaltTrading) -> TradingHalted:
    """Write the override file (every new order stops) and log it; see `create_override`."""
    actor = command.door.actor(command.requested_by)
    info = create_override(
        ctx,
        reason=command.reason,
        ticket=command.ticket,
        requested_by=actor.name,
        actor=actor,
        component=command.component,
        duration_minutes=command.duration_minutes,
        force=command.force,
        positions=_positions(command.positions),
        cancel_open_orders=command.cancel_open_orders,
    )
    doc = info.document
    return TradingHalted(
        path=str(info.path),
        component=info.component,
        replaced=info.replaced,
        document=doc.to_json(),
        expires_at=doc.expires_at,
        cancel_open_orders=doc.on_disable.cancel_open_orders,
        positions=doc.on_disable.positions,
    )


def resume(ctx: OpsContext, command: ResumeTrading) -> TradingResumed:
    """Remove the override file(s) and log it (trading resumes); see `remove_override`."""
    removed = remove_override(
        ctx,
        actor=command.door.actor(command.requested_by),
        reason=command.reason,
        component=command.component,
        ticket=command.ticket,
    )
    return TradingResumed(removed, str(ctx.overrides.directory))
