"""`tradeops adopt`: take a venue order or balance that tradeops does not know into the live
account's books, by an explicit operator command signed in the operations log before anything
changes (reason and ticket required). Only a difference the reconciliation shows now can be
adopted; nothing is booked as a fill.

- an unknown venue order: recorded as adopted; both reconciliations stop reporting it (it stays
  at the venue, and the watchdog still cancels it with everything else);
- a balance difference (venue:asset): the account's opening balance of that asset is shifted by
  (venue - expected), so the books expect what the venue holds from now on.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from tradeops.bootstrap.live_account import LiveAccount
from tradeops.bootstrap.live_adoption import record_adopted_order, shift_opening_balance
from tradeops.domain.errors import UserInputError
from tradeops.domain.money import decimal_str
from tradeops.ops.audit_trail import record_operator_action
from tradeops.runtime.venue_reconcile import DiffKind


@dataclass(frozen=True)
class AdoptCommand:
    kind: Literal["order", "balance"]
    key: str  # a client order id, or venue:asset
    reason: str
    ticket: str
    requested_by: str


@dataclass(frozen=True)
class AdoptView:
    environment: str
    kind: str
    key: str
    local_before: str
    venue: str
    local_after: str
    entry_seq: int

    def as_dict(self) -> dict[str, object]:
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


def adopt(account: LiveAccount, command: AdoptCommand) -> AdoptView:
    """Sign, then adopt. Raises UserInputError (nothing written) when the reason or ticket is
    missing or the key is not a current difference of that kind."""
    if not command.reason.strip():
        raise UserInputError("--reason: say why this is adopted (it is signed in the operations log)")
    if not command.ticket.strip():
        raise UserInputError("--ticket: name the ticket this adoption belongs to (e.g. INC-7)")
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
        order = next(o for o in account.router.venue_open_orders() if o.client_order_id == command.key)
        artefacts.update(venue=order.venue, symbol=order.symbol, venue_order_id=order.venue_order_id or "")
    entry = record_operator_action(
        account.cfg,
        kind="reconcile",
        status=f"adopt_{command.kind}",
        artefacts=artefacts,
        metadata={
            "reason": command.reason,
            "ticket": command.ticket,
            "requested_by": command.requested_by,
            "local": diff.local,
            "venue_view": diff.venue,
        },
    )
    if command.kind == "order":
        record_adopted_order(
            account.store,
            command.key,
            {"venue": order.venue, "symbol": order.symbol, "venue_order_id": order.venue_order_id or ""},
        )
        after = f"adopted: {diff.venue}"
    else:
        venue, asset = command.key.split(":", 1)
        shift_opening_balance(account.store, venue, asset, Decimal(diff.venue) - Decimal(diff.local))
        after = decimal_str(Decimal(diff.venue))
    return AdoptView(
        account.name, command.kind, command.key, diff.local, diff.venue, after, int(entry["seq"])
    )
