"""SIGNED endpoints of the simulator: orders, open orders, trades, account."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from tradeops.domain.trading import OrderType, Side
from tradeops.exchanges.sim.book import Account, Book, SimOrder, SimTrade
from tradeops.exchanges.sim.errors import SimError, bad_param
from tradeops.exchanges.sim.public import num

MAX_CLIENT_ID = 36


def _decimal(params: Mapping[str, str], name: str) -> Decimal:
    try:
        value = Decimal(params[name])
    except KeyError:
        raise bad_param(f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.") from None
    except InvalidOperation:
        raise SimError(400, -1100, f"Illegal characters found in parameter '{name}'.") from None
    if not value.is_finite() or value <= 0:
        raise SimError(400, -1100, f"Illegal characters found in parameter '{name}'.")
    return value


def _order_ids(params: Mapping[str, str]) -> tuple[int | None, str | None]:
    raw_id = params.get("orderId")
    client_id = params.get("origClientOrderId")
    if raw_id is None and client_id is None:
        raise bad_param("Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
    try:
        return (int(raw_id) if raw_id is not None else None), client_id
    except ValueError:
        raise SimError(400, -1100, "Illegal characters found in parameter 'orderId'.") from None


def order_view(order: SimOrder) -> dict[str, Any]:
    return {
        "symbol": order.market.market_id,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": num(order.price or Decimal(0)),
        "origQty": num(order.quantity),
        "executedQty": num(order.executed),
        "cummulativeQuoteQty": num(order.quote_executed),
        "status": order.status,
        "timeInForce": "GTC",
        "type": order.order_type.value.upper(),
        "side": order.side.value.upper(),
        "stopPrice": "0.00000000",
        "icebergQty": "0.00000000",
        "time": order.time_ms,
        "updateTime": order.update_ms,
        "isWorking": True,
        "workingTime": order.time_ms,
        "origQuoteOrderQty": "0.00000000",
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }


def trade_view(trade: SimTrade) -> dict[str, Any]:
    order = trade.order
    return {
        "symbol": order.market.market_id,
        "id": trade.trade_id,
        "orderId": order.order_id,
        "orderListId": -1,
        "price": num(trade.price),
        "qty": num(trade.qty),
        "quoteQty": num(trade.qty * trade.price),
        "commission": num(trade.commission),
        "commissionAsset": trade.commission_asset,
        "time": trade.time_ms,
        "isBuyer": order.side is Side.BUY,
        "isMaker": trade.maker,
        "isBestMatch": True,
    }


def new_order(book: Book, account: Account, params: Mapping[str, str], now_ms: int) -> dict[str, Any]:
    market = book.market.get(params.get("symbol"))
    try:
        side = Side(params.get("side", "").lower())
        order_type = OrderType(params.get("type", "").lower())
    except ValueError:
        raise SimError(400, -1116, "Invalid orderType or side.") from None
    quantity = _decimal(params, "quantity")
    price = _decimal(params, "price") if order_type is OrderType.LIMIT else None
    if order_type is OrderType.LIMIT and params.get("timeInForce", "GTC") != "GTC":
        raise SimError(400, -1115, "Invalid timeInForce.")
    client_id = params.get("newClientOrderId") or f"sim-{now_ms}-{len(book.orders) + 1}"
    if len(client_id) > MAX_CLIENT_ID:
        raise SimError(400, -1100, "Illegal characters found in parameter 'newClientOrderId'.")
    before = len(book.trades)
    order = book.place(account, market, side, order_type, quantity, price, client_id, now_ms)
    view = order_view(order) | {"transactTime": now_ms}
    respond = params.get("newOrderRespType", "FULL")
    if respond == "ACK":
        return {k: view[k] for k in ("symbol", "orderId", "orderListId", "clientOrderId", "transactTime")}
    if respond == "FULL":
        view["fills"] = [
            {
                "price": num(t.price),
                "qty": num(t.qty),
                "commission": num(t.commission),
                "commissionAsset": t.commission_asset,
                "tradeId": t.trade_id,
            }
            for t in book.trades[before:]
        ]
    return view


def query_order(book: Book, account: Account, params: Mapping[str, str]) -> dict[str, Any]:
    market = book.market.get(params.get("symbol"))
    order_id, client_id = _order_ids(params)
    return order_view(book.find(account, market, order_id, client_id))


def cancel_order(book: Book, account: Account, params: Mapping[str, str], now_ms: int) -> dict[str, Any]:
    market = book.market.get(params.get("symbol"))
    order_id, client_id = _order_ids(params)
    try:
        order = book.find(account, market, order_id, client_id)
    except SimError:
        raise SimError(400, -2011, "Unknown order sent.") from None
    book.cancel(order, now_ms)
    view = order_view(order)
    return view | {"origClientOrderId": order.client_order_id, "transactTime": now_ms}


def open_orders(book: Book, account: Account, params: Mapping[str, str]) -> list[dict[str, Any]]:
    market = book.market.get(params["symbol"]) if "symbol" in params else None
    return [order_view(o) for o in book.open_orders(account, market)]


def my_trades(book: Book, account: Account, params: Mapping[str, str]) -> list[dict[str, Any]]:
    market = book.market.get(params.get("symbol"))
    try:
        order_id = int(params["orderId"]) if "orderId" in params else None
        from_id = int(params["fromId"]) if "fromId" in params else None
        start = int(params["startTime"]) if "startTime" in params else None
        end = int(params["endTime"]) if "endTime" in params else None
        limit = min(int(params.get("limit", 500)), 1000)
    except ValueError:
        raise SimError(400, -1100, "Illegal characters found in a parameter.") from None
    trades = [
        t
        for t in book.trades
        if t.order.account is account
        and t.order.market is market
        and (order_id is None or t.order.order_id == order_id)
        and (from_id is None or t.trade_id >= from_id)
        and (start is None or t.time_ms >= start)
        and (end is None or t.time_ms <= end)
    ]
    trades = trades[:limit] if from_id is not None or start is not None else trades[-limit:]
    return [trade_view(t) for t in trades]


def account_view(book: Book, account: Account, now_ms: int) -> dict[str, Any]:
    rate = num(book.model.taker_fee)
    return {
        "makerCommission": int(book.model.maker_fee * 10_000),
        "takerCommission": int(book.model.taker_fee * 10_000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": num(book.model.maker_fee),
            "taker": rate,
            "buyer": num(Decimal(0)),
            "seller": num(Decimal(0)),
        },
        "canTrade": True,
        "canWithdraw": False,
        "canDeposit": False,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": now_ms,
        "accountType": "SPOT",
        "balances": [
            {"asset": asset, "free": num(b.free), "locked": num(b.locked)}
            for asset, b in sorted(account.balances.items())
        ],
        "permissions": ["SPOT"],
        "uid": zlib.crc32(account.api_key.encode()),
    }
