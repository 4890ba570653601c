"""`tradeops adopt` as `adopt(ctx, AdoptCommand) -> AdoptView`: take a venue order or balance that
tradeops does not know into the live account's books (`ctx.venues`), by an explicit operator
command signed through `ctx.operator_log` before anything changes (reason and ticket required).
Only a difference the reconciliation shows now can be adopted; nothing is booked as a fill.

- an unknown venue order: recorded as adopted; both reconciliations stop reporting it (it stays
  at the venue, and the watchdog still cancels it with everything else);
- a balance difference (venue:asset): the account's opening balance of that asset is shifted by
  (venue - expected), so the books expect what the venue holds from now on.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from tradeops.domain.errors import UserInputError
from tradeops.domain.money import decimal_str
from tradeops.ops.control_common import Door
from tradeops.ops.venue_actions import venues_of
from tradeops.ops_ports import OpsContext
from tradeops.runtime.venue_reconcile import DiffKind


@dataclass(frozen=True)
class AdoptCommand:
    kind: Literal["order", "balance"]
    key: str  # a client order id, or venue:asset
    reason: str
    ticket: str
    door: Door
    requested_by: str | None = None  # None: the door's principal


@dataclass(frozen=True)
class AdoptView:
    environment: str
    kind: str
    key: str
    local_before: str
    venue: str
    local_after: str
    entry_seq: int

    def line(self) -> str:
        return (
            f"adopted {self.kind} {self.key} in {self.environment}: "
            f"{self.local_before} -> {self.local_after} (signed, seq {self.entry_seq})"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "environment": self.environment,
            "kind": self.kind,
            "key": self.key,
            "local_before": self.local_before,
            "venue": self.venue,
            "local_after": self.local_after,
            "entry_seq": self.entry_seq,
        }


WANTED = {"order": DiffKind.UNKNOWN_VENUE_ORDER, "balance": DiffKind.BALANCE_MISMATCH}
FLAGS = {"order": "--order", "balance": "--balance"}


def adopt(ctx: OpsContext, command: AdoptCommand) -> AdoptView:
    """Sign, then adopt. Raises UserInputError (nothing written) when the reason or ticket is
    missing or the key is not a current difference of that kind."""
    if not command.reason.strip():
        raise UserInputError("--reason: say why this is adopted (it is signed in the operations log)")
    if not command.ticket.strip():
        raise UserInputError("--ticket: name the ticket this adoption belongs to (e.g. INC-7)")
    account = venues_of(ctx)
    flag = FLAGS[command.kind]
    diff = next(
        (d for d in account.reconcile().diffs if d.kind is WANTED[command.kind] and d.key == command.key),
        None,
    )
    if diff is None:
        raise UserInputError(
            f"{flag} {command.key}: not a current {WANTED[command.kind].value} "
            "(tradeops reconcile --json lists the differences)"
        )
    artefacts: dict[str, object] = {"environment": account.name, "kind": command.kind, "key": command.key}
    if command.kind == "order":
        order = next(o for o in account.venue_open_orders() if o.client_order_id == command.key)
        artefacts.update(venue=order.venue, symbol=order.symbol, venue_order_id=order.venue_order_id or "")
    entry = ctx.operator_log.append(
        kind="reconcile",
        status=f"adopt_{command.kind}",
        artefacts=artefacts,
        metadata={
            "reason": command.reason,
            "ticket": command.ticket,
            "requested_by": command.requested_by or command.door.principal,
            "local": diff.local,
            "venue_view": diff.venue,
        },
    )
    if command.kind == "order":
        account.adopt_order(
            command.key,
            {"venue": order.venue, "symbol": order.symbol, "venue_order_id": order.venue_order_id or ""},
        )
        after = f"adopted: {diff.venue}"
    else:
        venue, asset = command.key.split(":", 1)
        account.shift_opening_balance(venue, asset, Decimal(diff.venue) - Decimal(diff.local))
        after = decimal_str(Decimal(diff.venue))
    return AdoptView(
        account.name, command.kind, command.key, diff.local, diff.venue, after, int(entry["seq"])
    )
