"""ccxt adapters: candles for the loaders and order egress for live accounts.

The ccxt exchange object is injected (built by bootstrap from config), so tests drive the adapter
with an offline stand-in that has the same methods.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from tradeops.domain.market import Bar, Quote, interval_to_ms
from tradeops.domain.money import ZERO, to_decimal
from tradeops.domain.trading import Fill, Liquidity, OrderRequest, OrderType
from tradeops.exchanges.errors import translate_vendor_errors
from tradeops.runtime.ports import OrderAck


def fetch_candles(exchange: Any, symbol: str, interval: str, since_ms: int, limit: int = 1000) -> np.ndarray:
    """OHLCV rows [ts, o, h, l, c, v] from `since_ms`, paging until the venue has no more."""
    step = interval_to_ms(interval)
    rows: list[list[float]] = []
    cursor = since_ms
    with translate_vendor_errors(getattr(exchange, "id", "ccxt")):
        while True:
            page = exchange.fetch_ohlcv(symbol, interval, since=cursor, limit=limit)
            fresh = [r for r in page if not rows or r[0] > rows[-1][0]]
            if not fresh:
                break
            rows.extend(fresh)
            cursor = int(fresh[-1][0]) + step
            if len(page) < limit:
                break
    return np.asarray(rows, dtype=float).reshape(-1, 6)


class CcxtExchange:
    """Order egress to a real account through ccxt (implements runtime.ports.Exchange)."""

    def __init__(self, exchange: Any, venue: str, quote_asset: str = "USDT") -> None:
        self._ex = exchange
        self._venue = venue
        self._quote = quote_asset
        self._open: dict[str, OrderRequest] = {}

    def submit(self, order: OrderRequest) -> OrderAck:
        kind = "limit" if order.order_type is OrderType.LIMIT else "market"
        price = float(order.limit_price) if order.limit_price is not None else None
        params = (
            {"clientOrderId": order.client_order_id, "reduceOnly": order.reduce_only}
            if order.reduce_only
            else {"clientOrderId": order.client_order_id}
        )
        with translate_vendor_errors(self._venue):
            placed = self._ex.create_order(
                order.symbol, kind, order.side.value, float(order.quantity), price, params
            )
        filled = to_decimal(placed.get("filled") or 0)
        remaining = order.quantity - filled
        fills: tuple[Fill, ...] = ()
        if filled > 0:
            fills = (self._fill(order, placed, filled),)
        if remaining > 0:
            self._open[str(placed["id"])] = order
        return OrderAck(str(placed["id"]), fills, remaining)

    def _fill(self, order: OrderRequest, placed: dict[str, Any], filled: Decimal) -> Fill:
        fee = placed.get("fee") or {}
        average = placed.get("average") or placed.get("price") or order.reference_price
        return Fill(
            order_id=str(placed["id"]),
            client_order_id=order.client_order_id,
            strategy=order.strategy,
            venue=self._venue,
            symbol=order.symbol,
            side=order.side,
            quantity=filled,
            price=to_decimal(average),
            fee=to_decimal(fee.get("cost") or 0),
            fee_asset=str(fee.get("currency") or self._quote),
            liquidity=Liquidity.MAKER if placed.get("takerOrMaker") == "maker" else Liquidity.TAKER,
            ts=int(placed.get("timestamp") or order.ts),
        )

    def cancel(self, order_id: str) -> bool:
        order = self._open.pop(order_id, None)
        if order is None:
            return False
        with translate_vendor_errors(self._venue):
            self._ex.cancel_order(order_id, order.symbol)
        return True

    def cancel_all(self, strategy: str | None = None) -> int:
        doomed = [oid for oid, o in self._open.items() if strategy is None or o.strategy == strategy]
        return sum(1 for oid in doomed if self.cancel(oid))

    def open_order_ids(self) -> Sequence[str]:
        return list(self._open)

    def open_quantity(self, strategy: str, venue: str, symbol: str) -> Decimal:
        return sum(
            (
                o.quantity * o.side.sign
                for o in self._open.values()
                if o.strategy == strategy and o.symbol == symbol
            ),
            ZERO,
        )

    def on_market(self, bars: Iterable[Bar], quotes: Iterable[Quote]) -> Sequence[Fill]:
        return []  # live fills arrive through the venue; polling them is the live runner's job
