"""User-data stream events in Binance spot's shapes: executionReport, outboundAccountPosition."""

from __future__ import annotations

from typing import Any

from tradeops.domain.money import ZERO
from tradeops.domain.trading import Side
from tradeops.exchanges.sim.book import SimOrder, SimTrade
from tradeops.exchanges.sim.public import num


def execution_report(order: SimOrder, execution: str, trade: SimTrade | None, now_ms: int) -> dict[str, Any]:
    last_qty = trade.qty if trade else ZERO
    last_price = trade.price if trade else ZERO
    return {
        "e": "executionReport",
        "E": now_ms,
        "s": order.market.market_id,
        "c": order.client_order_id,
        "S": order.side.value.upper(),
        "o": order.order_type.value.upper(),
        "f": "GTC",
        "q": num(order.quantity),
        "p": num(order.price or ZERO),
        "P": num(ZERO),
        "F": num(ZERO),
        "g": -1,
        "C": order.client_order_id if execution == "CANCELED" else "",
        "x": execution,
        "X": order.status,
        "r": "NONE",
        "i": order.order_id,
        "l": num(last_qty),
        "z": num(order.executed),
        "L": num(last_price),
        "n": num(trade.commission) if trade else "0",
        "N": trade.commission_asset if trade else None,
        "T": now_ms,
        "t": trade.trade_id if trade else -1,
        "I": now_ms,
        "w": order.status in ("NEW", "PARTIALLY_FILLED"),
        "m": bool(trade and trade.maker),
        "M": False,
        "O": order.time_ms,
        "Z": num(order.quote_executed),
        "Y": num(last_qty * last_price),
        "Q": num(ZERO),
        "W": order.time_ms,
        "V": "EXPIRE_MAKER",
    }


def account_position(order: SimOrder, now_ms: int) -> dict[str, Any]:
    """The balances an order touches (its base and quote asset) after a change."""
    m = order.market
    assets = (m.base, m.quote) if order.side is Side.BUY else (m.quote, m.base)
    return {
        "e": "outboundAccountPosition",
        "E": now_ms,
        "u": now_ms,
        "B": [
            {"a": a, "f": num(order.account.balance(a).free), "l": num(order.account.balance(a).locked)}
            for a in assets
        ],
    }
