"""Turn a signal leg's target weight into a target quantity within the strategy's budget."""

from __future__ import annotations

from decimal import Decimal

from tradeops.domain.money import ZERO, quantize_down, to_decimal


def target_quantity(
    *,
    target_weight: float,
    budget: Decimal,
    instruments: int,
    price: Decimal,
    other_exposure: Decimal,
    max_position_notional: Decimal,
    quantity_step: Decimal,
) -> Decimal:
    """Signed quantity for one instrument.

    The strategy budget is split evenly over its instruments; the result is clamped so that the
    strategy's total exposure stays within `budget` (given `other_exposure` on its other
    instruments) and the position within `max_position_notional`.
    """
    if price <= 0 or budget <= 0 or instruments <= 0 or target_weight == 0.0:
        return ZERO
    weight = max(-1.0, min(1.0, target_weight))
    notional = abs(to_decimal(weight)) * budget / instruments
    notional = min(notional, max(ZERO, budget - other_exposure), max_position_notional)
    quantity = quantize_down(notional / price, quantity_step)
    return quantity if weight > 0 else -quantity
