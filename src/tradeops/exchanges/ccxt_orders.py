"""A working order of the ccxt adapter, and the request of a journaled order row."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tradeops.domain.money import ZERO, to_decimal
from tradeops.domain.trading import OrderRequest, OrderType, Side


def request_from_row(row: Mapping[str, Any]) -> OrderRequest:
    """The request of a journaled order (a row of the store's `orders` table, or an open intent)."""
    limit = row.get("limit_price")
    return OrderRequest(
        client_order_id=str(row["client_order_id"]),
        strategy=str(row["strategy"]),
        venue=str(row["venue"]),
        symbol=str(row["symbol"]),
        side=Side(str(row["side"])),
        quantity=to_decimal(row["quantity"]),
        reference_price=ZERO,
        ts=int(row.get("ts") or 0),
        order_type=OrderType(str(row.get("order_type") or "market")),
        limit_price=None if limit is None else to_decimal(limit),
        reduce_only=bool(row.get("reduce_only")),
    )


@dataclass
class Working:
    request: OrderRequest
    order_id: str
    quantity: Decimal  # as sent (rounded to the step)
    remaining: Decimal
    closing: bool = False  # cancelled by us: one last poll books fills that came before
