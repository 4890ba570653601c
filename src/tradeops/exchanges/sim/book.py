"""Accounts, orders and trades of the simulator; matching by the paper venue's core.

Binance spot semantics: a buyer pays the commission in the base asset it receives, a seller in
the quote asset; a limit order locks its funds while it rests; a market order that cannot fill
completely expires; an open order's client order id cannot be reused (-2010 Duplicate order sent).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from tradeops.domain.money import ZERO
from tradeops.domain.trading import Liquidity, OrderType, Side
from tradeops.exchanges.paper.matching import Match, MatchModel, match_order
from tradeops.exchanges.sim import errors
from tradeops.exchanges.sim.market import SimMarket, SymbolMarket

OPEN_STATUSES = frozenset({"NEW", "PARTIALLY_FILLED"})
ASSET_PRECISION = Decimal("0.00000001")  # Binance spot amounts: 8 decimals


def on_tick(price: Decimal, tick: Decimal, side: Side) -> Decimal:
    """A trade price on the symbol's tick, as every price of a real book is; the taker gets the
    worse side of the rounding (a buyer pays up, a seller receives down)."""
    return price.quantize(tick, rounding=ROUND_CEILING if side is Side.BUY else ROUND_FLOOR)


def commission_of(amount: Decimal, rate: Decimal) -> Decimal:
    """The commission as the venue books and reports it: rounded to the asset's 8 decimals."""
    return (amount * rate).quantize(ASSET_PRECISION, rounding=ROUND_HALF_UP)


@dataclass
class Balance:
    free: Decimal = ZERO
    locked: Decimal = ZERO


@dataclass
class Account:
    api_key: str
    secret: str
    balances: dict[str, Balance] = field(default_factory=dict)

    def balance(self, asset: str) -> Balance:
        return self.balances.setdefault(asset, Balance())


@dataclass
class SimOrder:
    order_id: int
    client_order_id: str
    account: Account
    market: SymbolMarket
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    time_ms: int
    status: str = "NEW"
    executed: Decimal = ZERO
    quote_executed: Decimal = ZERO
    locked: Decimal = ZERO  # funds still locked by this order
    lock_price: Decimal = ZERO  # buys: the price per unit the lock was sized at
    update_ms: int = 0

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.executed


@dataclass(frozen=True)
class SimTrade:
    trade_id: int
    order: SimOrder
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    maker: bool
    time_ms: int


class Book:
    def __init__(self, market: SimMarket, model: MatchModel) -> None:
        self.market = market
        self.model = model
        self.accounts: dict[str, Account] = {}
        self.orders: dict[int, SimOrder] = {}
        self.trades: list[SimTrade] = []
        self.fill_ratio: Decimal | None = None  # fault: each match fills at most this share
        self.listeners: list[Callable[[SimOrder, str, SimTrade | None, int], None]] = []
        self._order_ids = itertools.count(1)
        self._open_by_client: dict[tuple[str, str], SimOrder] = {}  # open orders by client id
        self._trade_ids = itertools.count(1)

    def clear(self) -> None:
        """Forget every order and trade (the admin reset)."""
        self.orders.clear()
        self.trades.clear()
        self._open_by_client.clear()
        self.fill_ratio = None

    # --- orders -----------------------------------------------------------------------------

    def place(
        self,
        account: Account,
        market: SymbolMarket,
        side: Side,
        order_type: OrderType,
        quantity: Decimal,
        price: Decimal | None,
        client_order_id: str,
        now_ms: int,
    ) -> SimOrder:
        self._check_filters(market, order_type, quantity, price)
        if (account.api_key, client_order_id) in self._open_by_client:
            raise errors.duplicate_order()
        order = SimOrder(
            next(self._order_ids),
            client_order_id,
            account,
            market,
            side,
            order_type,
            quantity,
            price,
            now_ms,
            update_ms=now_ms,
        )
        self._lock(order)
        self.orders[order.order_id] = order
        self._open_by_client[(account.api_key, client_order_id)] = order
        self._emit(order, "NEW", None, now_ms)
        found = match_order(
            side,
            order_type,
            price,
            quantity,
            self.market.arrival_view(market.market_id, side),
            self._model(order),
            on_arrival=True,
        )
        if found is not None:
            self._book_trade(order, found, now_ms)
        if order.order_type is OrderType.MARKET and order.status in OPEN_STATUSES:
            self._close(order, "EXPIRED", now_ms)  # a market order never rests
        return order

    def cancel(self, order: SimOrder, now_ms: int) -> SimOrder:
        if order.status not in OPEN_STATUSES:
            raise errors.unknown_order_cancel()
        self._close(order, "CANCELED", now_ms)
        return order

    def find(
        self, account: Account, market: SymbolMarket, order_id: int | None, client_id: str | None
    ) -> SimOrder:
        for order in reversed(list(self.orders.values())):
            if order.account is not account or order.market is not market:
                continue
            if (order_id is not None and order.order_id == order_id) or (
                order_id is None and client_id is not None and order.client_order_id == client_id
            ):
                return order
        raise errors.unknown_order_query()

    def open_orders(self, account: Account, market: SymbolMarket | None) -> list[SimOrder]:
        return [
            o
            for o in self._open_by_client.values()
            if o.account is account and (market is None or o.market is market)
        ]

    def on_bar(self, now_ms: int) -> int:
        """Match every resting order against the bar now in progress; return the number of trades."""
        count = 0
        for order in list(self._open_by_client.values()):
            found = match_order(
                order.side,
                order.order_type,
                order.price,
                order.remaining,
                self.market.bar(order.market.market_id),
                self._model(order),
            )
            if found is not None:
                self._book_trade(order, found, now_ms)
                count += 1
        return count

    # --- internals --------------------------------------------------------------------------

    def _model(self, order: SimOrder) -> MatchModel:
        """The venue's model with this symbol's step; the partial-fill fault caps each match at
        `fill_ratio` of the order's quantity."""
        participation = self.model.participation
        volume = self.market.bar(order.market.market_id).volume
        if self.fill_ratio is not None and volume > 0:
            participation = min(participation, order.quantity * self.fill_ratio / volume)
        return MatchModel(
            self.model.maker_fee,
            self.model.taker_fee,
            self.model.slippage,
            participation,
            order.market.filters.step,
        )

    def _check_filters(
        self, market: SymbolMarket, order_type: OrderType, quantity: Decimal, price: Decimal | None
    ) -> None:
        f = market.filters
        if quantity < f.min_qty or quantity % f.step != 0:
            raise errors.filter_failure("LOT_SIZE")
        if order_type is OrderType.LIMIT and (price is None or price <= 0 or price % f.tick != 0):
            raise errors.filter_failure("PRICE_FILTER")
        reference = price if price is not None else self.market.last(market.market_id)
        if quantity * reference < f.min_notional:
            raise errors.filter_failure("NOTIONAL")

    def _lock(self, order: SimOrder) -> None:
        m = order.market
        if order.side is Side.BUY:
            ask = self.market.touch(m.market_id)[1]
            order.lock_price = order.price or on_tick(
                ask * (1 + self.model.slippage), m.filters.tick, Side.BUY
            )
            need, asset = order.quantity * order.lock_price, m.quote
        else:
            need, asset = order.quantity, m.base
        balance = order.account.balance(asset)
        if balance.free < need:
            raise errors.insufficient_balance()
        balance.free -= need
        balance.locked += need
        order.locked = need

    def _book_trade(self, order: SimOrder, found: Match, now_ms: int) -> None:
        m, account = order.market, order.account
        # Every amount the account moves is the amount the venue reports (price on the tick,
        # commission to 8 decimals): balances then follow from the reported trades exactly.
        qty, price = found.quantity, on_tick(found.price, m.filters.tick, order.side)
        quote = qty * price
        rate = found.fee_rate
        if order.side is Side.BUY:
            self._release(order, m.quote, min(order.locked, qty * order.lock_price), quote)
            commission, asset = commission_of(qty, rate), m.base
            account.balance(m.base).free += qty - commission
        else:
            self._release(order, m.base, min(order.locked, qty), qty)
            commission, asset = commission_of(quote, rate), m.quote
            account.balance(m.quote).free += quote - commission
        order.executed += qty
        order.quote_executed += quote
        order.update_ms = now_ms
        order.status = "FILLED" if order.remaining <= 0 else "PARTIALLY_FILLED"
        if order.status == "FILLED":
            self._unlock_rest(order)
            self._open_by_client.pop((account.api_key, order.client_order_id), None)
        maker = found.liquidity is Liquidity.MAKER
        trade = SimTrade(next(self._trade_ids), order, price, qty, commission, asset, maker, now_ms)
        self.trades.append(trade)
        self._emit(order, "TRADE", trade, now_ms)

    def _release(self, order: SimOrder, asset: str, released: Decimal, spent: Decimal) -> None:
        """Move `released` out of the lock; `spent` of it leaves the account, the rest is free again."""
        balance = order.account.balance(asset)
        balance.locked -= released
        order.locked -= released
        balance.free += released - spent

    def _unlock_rest(self, order: SimOrder) -> None:
        asset = order.market.quote if order.side is Side.BUY else order.market.base
        balance = order.account.balance(asset)
        balance.locked -= order.locked
        balance.free += order.locked
        order.locked = ZERO

    def _close(self, order: SimOrder, status: str, now_ms: int) -> None:
        order.status = status
        order.update_ms = now_ms
        self._unlock_rest(order)
        self._open_by_client.pop((order.account.api_key, order.client_order_id), None)
        self._emit(order, status, None, now_ms)

    def _emit(self, order: SimOrder, execution: str, trade: SimTrade | None, now_ms: int) -> None:
        """Tell the user-data streams (execution type NEW, TRADE, CANCELED or EXPIRED)."""
        for listener in self.listeners:
            listener(order, execution, trade, now_ms)
