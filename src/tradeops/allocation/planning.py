"""Order planning (pure): from a signal leg's target weight and what the strategy already holds or
has working, the order that moves it there (or none), and the weight a holding has in its budget."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tradeops.allocation.sizing import target_quantity
from tradeops.domain.money import ONE, ZERO
from tradeops.domain.trading import Side


@dataclass(frozen=True, slots=True)
class LegBook:
    """One strategy on one instrument, as it stands before the order."""

    price: Decimal
    held_quantity: Decimal  # the booked position
    working_quantity: Decimal  # signed quantity of its open orders there
    other_exposure: Decimal  # the strategy's exposure on its other instruments


@dataclass(frozen=True, slots=True)
class LegLimits:
    budget: Decimal  # the strategy's capital (allocation x equity)
    instruments: int  # the budget is split evenly over the schedule's symbols
    max_position_notional: Decimal
    quantity_step: Decimal
    min_notional: Decimal
    min_quantity: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class PlannedOrder:
    side: Side
    quantity: Decimal
    reduce_only: bool


def plan_order(target_weight: float, book: LegBook, limits: LegLimits) -> PlannedOrder | None:
    """The order from what is held and working to the target, or None when there is nothing to do
    (already there, or a change below the venue's minimum notional that does not close)."""
    working = book.held_quantity + book.working_quantity
    target = target_quantity(
        target_weight=target_weight,
        budget=limits.budget,
        instruments=limits.instruments,
        price=book.price,
        other_exposure=max(ZERO, book.other_exposure),
        max_position_notional=limits.max_position_notional,
        quantity_step=limits.quantity_step,
    )
    delta = target - working
    if delta == 0 or (abs(delta) * book.price < limits.min_notional and target != 0):
        return None
    if target == 0 and is_dust(
        delta,
        book.price,
        step=limits.quantity_step,
        min_quantity=limits.min_quantity,
        min_notional=limits.min_notional,
    ):
        return None  # closing dust: no venue takes the order, and it would hold the other legs back
    reduce_only = (
        working != 0 and abs(target) < abs(working) and (target == 0 or (target > 0) == (working > 0))
    )
    return PlannedOrder(Side.BUY if delta > 0 else Side.SELL, abs(delta), reduce_only)


def holding_share(budget: Decimal, instruments: int) -> Decimal:
    """The per-instrument share of a strategy's budget that holding weights are fractions of."""
    return budget / max(1, instruments) if budget > 0 else ONE


def holding_weight(quantity: Decimal, price: Decimal, budget: Decimal, instruments: int) -> float:
    """A position's signed exposure as a fraction of its per-instrument share of the budget."""
    return share_weight(quantity, price, holding_share(budget, instruments))


def share_weight(quantity: Decimal, price: Decimal, share: Decimal) -> float:
    """`holding_weight` with the share already taken (`holding_share`, once for many positions)."""
    return float(quantity * price / share)


def is_dust(
    quantity: Decimal, price: Decimal, *, step: Decimal, min_quantity: Decimal, min_notional: Decimal
) -> bool:
    """A non-zero quantity no order can carry: under one quantity step, the venue's minimum
    quantity or (at `price`) its minimum notional. What a fee taken in the base asset leaves."""
    size = abs(quantity)
    return quantity != 0 and (size < max(step, min_quantity) or size * price < min_notional)


# `clearly_not_dust` decides in floats only far from the thresholds. Every float it sees is within
# a few units in the last place (2**-53 relative) of the exact figure, and the exact product rounds
# at 28 digits; a relative margin of 1e-6 covers both by orders of magnitude. Floats outside
# [2**-1000, 2**1000] (underflow, infinities) and NaN are never decided.
_MARGIN = 1.0 + 1e-6
_TINY = 2.0**-1000
_HUGE = 2.0**1000


def clearly_not_dust(size: float, price: float, floor: float, min_notional: float) -> bool:
    """True only when `is_dust` is certainly False: `size` (abs of the quantity) and `price` are
    the float values of is_dust's quantity and price, `floor` of max(step, min_quantity) and
    `min_notional` of the minimum notional. False means "ask `is_dust`", not "dust"."""
    notional = size * price
    return (
        _TINY <= size <= _HUGE
        and _TINY <= price <= _HUGE
        and size > floor * _MARGIN
        and notional > min_notional * _MARGIN
        and notional > _TINY
    )
