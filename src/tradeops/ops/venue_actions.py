"""Operator actions on a live venue as `(context, Command) -> View`: show the reconciliation, and
cancel an order the books do not know (only by an explicit command, signed in the operations log
through `ctx.operator_log` before anything is sent). The venues are `ctx.venues`."""

from __future__ import annotations

from dataclasses import dataclass

from tradeops.domain.errors import TradeopsError, UserInputError
from tradeops.ops.control_common import Door
from tradeops.ops_ports import OpsContext, VenueAccount
from tradeops.runtime.venue_reconcile import DiffKind, ReconcileReport

__all__ = [
    "CancelUnknownOrder",
    "ReconcileShown",
    "ShowReconcile",
    "UnknownOrderCancelled",
    "cancel_unknown",
    "show_reconcile",
    "venues_of",
]


@dataclass(frozen=True, slots=True)
class ShowReconcile:
    """The books against the venues now; nothing is booked or adopted."""


@dataclass(frozen=True, slots=True)
class ReconcileShown:
    environment: str
    report: ReconcileReport

    @property
    def clean(self) -> bool:
        return self.report.clean

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        """(kind, key, local, venue, action) per difference."""
        return self.report.rows()

    def to_json(self) -> dict[str, object]:
        return {
            "environment": self.environment,
            "clean": self.report.clean,
            "reducing": sorted(self.report.reducing),
            "rows": [
                {"kind": kind, "key": key, "local": local, "venue": venue, "action": action}
                for kind, key, local, venue, action in self.report.rows()
            ],
        }


@dataclass(frozen=True, slots=True)
class CancelUnknownOrder:
    client_order_id: str
    reason: str
    ticket: str
    door: Door
    requested_by: str | None = None  # None: the door's principal


@dataclass(frozen=True, slots=True)
class UnknownOrderCancelled:
    client_order_id: str
    venue: str
    cancelled: bool  # False: the venue had already closed it

    def to_json(self) -> dict[str, object]:
        return {"client_order_id": self.client_order_id, "venue": self.venue, "cancelled": self.cancelled}

    def line(self) -> str:
        if self.cancelled:
            return f"cancelled at {self.venue}: {self.client_order_id}"
        return f"{self.client_order_id}: the venue had already closed it"


def venues_of(ctx: OpsContext) -> VenueAccount:
    if ctx.venues is None:
        raise TradeopsError("this operations context carries no venues (bootstrap.live_account wires them)")
    return ctx.venues


def show_reconcile(ctx: OpsContext, command: ShowReconcile) -> ReconcileShown:
    """Compare open orders and balances in the books with the venues."""
    del command
    venues = venues_of(ctx)
    return ReconcileShown(venues.name, venues.reconcile())


def cancel_unknown(ctx: OpsContext, command: CancelUnknownOrder) -> UnknownOrderCancelled:
    """Cancel a venue order our books do not hold; the signed entry is written first. UserInputError
    (nothing written, nothing sent) without a reason or when it is not an unknown venue order now."""
    client_order_id = command.client_order_id
    if not command.reason.strip():
        raise UserInputError("--reason: say why this venue order is cancelled (it is signed in the log)")
    venues = venues_of(ctx)
    diff = next(
        (
            d
            for d in venues.reconcile().diffs
            if d.kind is DiffKind.UNKNOWN_VENUE_ORDER and d.key == client_order_id
        ),
        None,
    )
    if diff is None:
        raise UserInputError(
            f"--cancel-unknown {client_order_id}: not an unknown venue order now "
            "(tradeops reconcile lists them)"
        )
    order = next(o for o in venues.venue_open_orders() if o.client_order_id == client_order_id)
    ctx.operator_log.append(
        kind="reconcile",
        status="cancel_unknown_order",
        artefacts={
            "environment": venues.name,
            "venue": order.venue,
            "symbol": order.symbol,
            "client_order_id": client_order_id,
            "venue_order_id": order.venue_order_id or "",
        },
        metadata={
            "reason": command.reason,
            "ticket": command.ticket,
            "requested_by": command.requested_by or command.door.principal,
            "venue_view": diff.venue,
        },
    )
    cancelled = venues.cancel_venue_order(order.venue, order.symbol, order.venue_order_id or "")
    return UnknownOrderCancelled(client_order_id, order.venue, cancelled)
