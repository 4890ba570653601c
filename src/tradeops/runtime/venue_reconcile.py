"""Compare what the runtime believes with what the venue says (design for the reconcile loop;
not wired yet). Pure: both sides come in as values, the differences go out with the action each
calls for. It never produces a fill or changes a book: the books are made to agree only by fills
the venue reports (booked by trade id) or by an operator's explicit, signed command.

Keys: orders by client order id (the id we journal before sending), balances by (venue, asset).
A difference that belongs to one strategy puts that strategy in REDUCING; one that cannot be
attributed (an unknown venue order, a balance) puts the account in REDUCING.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from tradeops.domain.money import ZERO, decimal_str
from tradeops.domain.trading import Side

REASON = "reconcile_diff"
ACCOUNT = "*"


class DiffKind(StrEnum):
    UNKNOWN_VENUE_ORDER = "unknown_venue_order"  # open at the venue, not in our books
    MISSING_AT_VENUE = "missing_at_venue"  # open in our books, not open at the venue
    REMAINING_MISMATCH = "remaining_mismatch"  # both open, different quantity left
    BALANCE_MISMATCH = "balance_mismatch"  # an asset's total differs beyond the tolerance


ACTIONS = {
    DiffKind.UNKNOWN_VENUE_ORDER: "operator: adopt or cancel it (signed command); never adopted silently",
    DiffKind.MISSING_AT_VENUE: "query the order and book its venue trades; close it only on the venue's word",
    DiffKind.REMAINING_MISMATCH: "book the order's venue trades by trade id; never invent a fill",
    DiffKind.BALANCE_MISMATCH: "find the unbooked trades or transfers; the account reduces until it agrees",
}


@dataclass(frozen=True, slots=True)
class OrderView:
    """One open order as one side sees it."""

    client_order_id: str
    venue: str
    symbol: str
    side: Side
    remaining: Decimal
    venue_order_id: str | None = None
    strategy: str | None = None


@dataclass(frozen=True, slots=True)
class Diff:
    kind: DiffKind
    key: str  # client order id, or venue:asset
    scope: str  # the strategy it belongs to, or ACCOUNT
    local: str
    venue: str

    @property
    def action(self) -> str:
        return ACTIONS[self.kind]


@dataclass(frozen=True)
class ReconcileReport:
    diffs: tuple[Diff, ...] = ()
    reducing: frozenset[str] = field(default_factory=frozenset)  # strategies, or ACCOUNT

    @property
    def clean(self) -> bool:
        return not self.diffs

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        """(kind, key, local, venue, action): the `tradeops reconcile` table."""
        return [(d.kind.value, d.key, d.local, d.venue, d.action) for d in self.diffs]


def _order_text(order: OrderView | None) -> str:
    if order is None:
        return "-"
    return f"{order.side.value} {decimal_str(order.remaining)} {order.symbol} open"


def reconcile(
    local_orders: Iterable[OrderView],
    venue_orders: Iterable[OrderView],
    local_balances: Mapping[tuple[str, str], Decimal],
    venue_balances: Mapping[tuple[str, str], Decimal],
    *,
    strategy_of: Callable[[str], str | None] = lambda _cid: None,
    tolerance: Mapping[str, Decimal] | None = None,
) -> ReconcileReport:
    """Every difference between the two sides, each with its scope and action.

    `strategy_of` attributes a venue order we do not know to a strategy by its client order id
    (ours start with the schedule name); `tolerance` is the absolute difference per asset below
    which balances agree (dust, rounding of fees)."""
    local = {o.client_order_id: o for o in local_orders}
    venue = {o.client_order_id: o for o in venue_orders}
    diffs: list[Diff] = []
    for cid in sorted(venue.keys() - local.keys()):
        diffs.append(
            Diff(DiffKind.UNKNOWN_VENUE_ORDER, cid, strategy_of(cid) or ACCOUNT, "-", _order_text(venue[cid]))
        )
    for cid in sorted(local.keys() - venue.keys()):
        mine = local[cid]
        diffs.append(Diff(DiffKind.MISSING_AT_VENUE, cid, mine.strategy or ACCOUNT, _order_text(mine), "-"))
    for cid in sorted(local.keys() & venue.keys()):
        mine, theirs = local[cid], venue[cid]
        if mine.remaining != theirs.remaining:
            diffs.append(
                Diff(
                    DiffKind.REMAINING_MISMATCH,
                    cid,
                    mine.strategy or ACCOUNT,
                    _order_text(mine),
                    _order_text(theirs),
                )
            )
    limits = tolerance or {}
    for key in sorted(local_balances.keys() | venue_balances.keys()):
        ours, theirs_total = local_balances.get(key, ZERO), venue_balances.get(key, ZERO)
        if abs(ours - theirs_total) > limits.get(key[1], ZERO):
            diffs.append(
                Diff(
                    DiffKind.BALANCE_MISMATCH,
                    f"{key[0]}:{key[1]}",
                    ACCOUNT,
                    decimal_str(ours),
                    decimal_str(theirs_total),
                )
            )
    return ReconcileReport(tuple(diffs), frozenset(d.scope for d in diffs))
