"""ccxt adapters: candles for the loaders and order egress for live accounts.

The ccxt exchange object is injected (built from config by `ccxt_client.build_ccxt_client`), so the
same adapter talks to a real venue, its testnet or the local simulator.

Orders are idempotent: every order carries its client order id; a request whose outcome is unknown
(timeout, dropped connection, 5xx) is resolved by querying that id before anything is resent, and
a resend happens only once the venue can no longer execute the original (its recvWindow passed).
A venue fill (trade id) is booked exactly once, from the acknowledgement or from a later poll.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import ccxt

from tradeops.domain.market import Bar, Quote
from tradeops.domain.money import ZERO, to_decimal
from tradeops.domain.trading import Fill, InstrumentLimits, Liquidity, OrderAck, OrderRequest, OrderType, Side
from tradeops.exchanges.ccxt_calls import RetryPolicy, VenueCaller
from tradeops.exchanges.ccxt_orders import Working as _Working
from tradeops.exchanges.ccxt_orders import request_from_row
from tradeops.exchanges.errors import (
    OrderRejected,
    OutcomeUnknown,
    is_duplicate_order,
    is_refused_before_processing,
    outcome_unknown,
    translate_vendor_errors,
)
from tradeops.exchanges.precision import MarketRules
from tradeops.exchanges.user_stream import UserStream, trade_of_report
from tradeops.runtime.stats import VenueRequestStats
from tradeops.runtime.venue_reconcile import OrderView

OPEN = "open"
CLOSED_AT_VENUE = frozenset({"FILLED", "CANCELED", "EXPIRED", "REJECTED", "EXPIRED_IN_MATCH"})


TRADES_PAGE = 1000


class CcxtExchange:
    """Order egress to a real account through ccxt (implements runtime.ports.Exchange)."""

    requires_durable_intent = True  # the venue is outside the process: the log holds the intent first

    def __init__(
        self,
        exchange: Any,
        venue: str,
        quote_asset: str = "USDT",
        *,
        policy: RetryPolicy | None = None,
        max_order_notional: Decimal | None = None,
        recv_window_ms: int | None = None,
        poll_interval_ms: int = 1_000,
        clock_ms: Callable[[], int] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        stream: UserStream | None = None,
        requests: VenueRequestStats | None = None,
    ) -> None:
        self._ex = exchange
        self.stream = stream
        self.requests = requests or VenueRequestStats()  # per-endpoint health (filled by bootstrap)
        self._caught_up = 0  # the stream generation the last REST poll caught up after
        self._gap = False  # the stream closed an order before all its trades were seen
        self.fill_sources: Counter[str] = Counter()  # fills booked per path: ack, stream, poll
        self._venue = venue
        self._quote = quote_asset
        self._caller = VenueCaller(exchange, venue, policy or RetryPolicy(), sleep)
        self._max_notional = max_order_notional
        options = getattr(exchange, "options", None) or {}
        self._recv_window_ms = recv_window_ms or int(options.get("recvWindow", 10_000))
        self._poll_interval_ms = poll_interval_ms
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self._sleep = sleep
        self._rules: dict[str, MarketRules] = {}
        self._open: dict[str, _Working] = {}
        self._booked: set[str] = set()  # venue trade ids already turned into fills
        self._next_trade_id: dict[str, int] = {}  # per symbol: where the next trade poll starts
        self._client_ids: set[str] = set()  # client order ids sent by this adapter
        self._last_poll_ms = -(10**15)
        self._closed: list[OrderRequest] = []  # closed at the venue with a remainder never filled

    @property
    def quote_asset(self) -> str:
        return self._quote

    @property
    def client(self) -> Any:
        """The ccxt exchange object (market data polls share its connection and rate limiter)."""
        return self._ex

    # --- markets ------------------------------------------------------------------------------

    def load_markets(self) -> dict[str, MarketRules]:
        with translate_vendor_errors(self._venue):
            markets = self._caller.call(self._ex.load_markets)
        mode = int(getattr(self._ex, "precisionMode", 4) or 4)
        self._rules = {s: MarketRules.from_ccxt(m, mode) for s, m in markets.items()}
        return self._rules

    def rules(self, symbol: str) -> MarketRules:
        if not self._rules:
            self.load_markets()
        if symbol not in self._rules:
            raise OrderRejected(f"{self._venue}: {symbol} is not a market of this venue")
        return self._rules[symbol]

    def instrument_limits(self, venue: str, symbol: str) -> InstrumentLimits | None:
        """The market's precision and minimums from load_markets; None when it does not list it."""
        rules = self._rules or (self.load_markets() if venue == self._venue else {})
        found = rules.get(symbol) if venue == self._venue else None
        return None if found is None else found.limits()

    # --- orders -------------------------------------------------------------------------------

    def submit(self, order: OrderRequest) -> OrderAck:
        if order.client_order_id in self._client_ids:
            raise OrderRejected(f"{self._venue}: duplicate client order id {order.client_order_id}")
        rules = self.rules(order.symbol)
        quantity, price = rules.prepare(order, self._max_notional)
        self._client_ids.add(order.client_order_id)
        kind = "limit" if order.order_type is OrderType.LIMIT else "market"
        params: dict[str, Any] = {"clientOrderId": order.client_order_id}
        if order.reduce_only and not rules.spot:
            params["reduceOnly"] = True  # spot venues have no such parameter
        args = (
            order.symbol,
            kind,
            order.side.value,
            float(quantity),
            None if price is None else float(price),
        )
        placed, from_ack = self._place(order, args, params)
        trades = (
            placed.get("trades") or [] if from_ack else self._order_trades(order.symbol, str(placed["id"]))
        )
        # Fills in the answer to a new order happened on arrival: the arriving order took liquidity.
        placed_ms = int(placed.get("timestamp") or self._clock_ms())
        fills = self._book(order, str(placed["id"]), trades, Liquidity.TAKER if from_ack else None, placed_ms)
        self.fill_sources["ack" if from_ack else "poll"] += len(fills)
        filled = sum((f.quantity for f in fills), ZERO)
        remaining = quantity - max(filled, to_decimal(float(placed.get("filled") or 0)))
        open_quantity = remaining if placed.get("status") == OPEN and remaining > 0 else ZERO
        if open_quantity > 0:
            self._open[str(placed["id"])] = _Working(order, str(placed["id"]), quantity, open_quantity)
        elif filled < order.quantity:
            self._closed.append(order)  # the venue closed it (rounded to the step, expired, partial)
        return OrderAck(str(placed["id"]), tuple(fills), open_quantity)

    def _place(
        self, order: OrderRequest, args: tuple[Any, ...], params: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Create the order exactly once: (order, True) from the acknowledgement, or (order, False)
        when it was found by its client order id after an unknown outcome or a duplicate refusal."""
        attempt = 0
        uncertain = False  # an earlier attempt of this call may have reached the venue
        while True:
            sent_ms = self._clock_ms()
            try:
                acknowledged: dict[str, Any] = self._ex.create_order(*args, params)
                return acknowledged, True
            except ccxt.BaseError as exc:
                if is_duplicate_order(exc) and uncertain:
                    found = self._lookup(order)
                    if found is not None:
                        return found, False
                if is_refused_before_processing(exc):
                    self._caller.wait_before_retry(exc, attempt)
                    attempt += 1
                    continue
                if not outcome_unknown(exc):
                    with translate_vendor_errors(self._venue):
                        raise
                uncertain = True
                found = self._resolve_unknown(order, sent_ms, exc)
                if found is not None:
                    return found, False
                self._caller.wait_before_retry(exc, attempt)
                attempt += 1

    def _resolve_unknown(
        self, order: OrderRequest, sent_ms: int, exc: BaseException
    ) -> dict[str, Any] | None:
        """Did the venue take the order? Ask by client order id; an answer of "no" counts only once
        the original request is past its recvWindow and can no longer be executed."""
        found = self._lookup(order)
        if found is not None:
            return found
        expires_ms = sent_ms + self._recv_window_ms + 1_000
        wait_s = (expires_ms - self._clock_ms()) / 1000
        if wait_s > self._caller.policy.max_wait_s:
            raise OutcomeUnknown(
                f"{self._venue}: {order.client_order_id}: not found yet and the request stays executable "
                f"for {wait_s:.0f}s more; not resent: {exc}"
            ) from exc
        if wait_s > 0:
            self._sleep(wait_s)
            found = self._lookup(order)
        return found

    def _lookup(self, order: OrderRequest) -> dict[str, Any] | None:
        try:
            fetched: dict[str, Any] = self._caller.call(
                self._ex.fetch_order, None, order.symbol, {"origClientOrderId": order.client_order_id}
            )
        except ccxt.OrderNotFound:
            return None
        except ccxt.BaseError as exc:
            raise OutcomeUnknown(
                f"{self._venue}: {order.client_order_id}: cannot tell whether the venue holds it: {exc}"
            ) from exc
        return fetched

    def _order_trades(self, symbol: str, order_id: str) -> list[dict[str, Any]]:
        with translate_vendor_errors(self._venue):
            trades: list[dict[str, Any]] = self._caller.call(
                self._ex.fetch_my_trades, symbol, None, None, {"orderId": order_id}
            )
        return trades

    def _book(
        self,
        order: OrderRequest,
        order_id: str,
        trades: Iterable[dict[str, Any]],
        liquidity: Liquidity | None,
        default_ts: int,
    ) -> list[Fill]:
        fills = []
        for trade in trades:
            trade_id = str(trade.get("id") or "")
            if not trade_id or trade_id in self._booked:
                continue
            self._booked.add(trade_id)
            fills.append(self._fill(order, order_id, trade, liquidity, default_ts))
        return fills

    def _fill(
        self,
        order: OrderRequest,
        order_id: str,
        trade: dict[str, Any],
        liquidity: Liquidity | None,
        default_ts: int,
    ) -> Fill:
        fee = trade.get("fee") or {}
        role = trade.get("takerOrMaker")
        if role is not None:
            liquidity = Liquidity.MAKER if role == "maker" else Liquidity.TAKER
        return Fill(
            order_id=order_id,
            client_order_id=order.client_order_id,
            strategy=order.strategy,
            venue=self._venue,
            symbol=order.symbol,
            side=order.side,
            quantity=to_decimal(float(trade["amount"])),
            price=to_decimal(float(trade["price"])),
            fee=to_decimal(float(fee.get("cost") or 0)),
            fee_asset=str(fee.get("currency") or self._quote),
            liquidity=liquidity or Liquidity.TAKER,
            ts=int(trade.get("timestamp") or default_ts),
            trade_id=str(trade.get("id") or ""),
        )

    # --- restart -------------------------------------------------------------------------------

    def restore(self, orders: Iterable[Mapping[str, Any]], booked_trade_ids: Iterable[str]) -> int:
        """Reload working orders of this venue (store rows with status open) and the trade ids
        already booked, so a restart neither forgets a resting order nor books a fill twice."""
        self._booked.update(booked_trade_ids)
        count = 0
        for row in orders:
            if row["venue"] != self._venue or not row.get("order_id"):
                continue
            request = request_from_row(row)
            remaining = to_decimal(row["quantity"]) - to_decimal(row.get("filled") or 0)
            self._client_ids.add(request.client_order_id)
            self._open[str(row["order_id"])] = _Working(
                request, str(row["order_id"]), request.quantity, remaining
            )
            count += 1
        return count

    def resolve(self, row: Mapping[str, Any]) -> str | None:
        """An intent journaled before a crash: does the venue hold it? Looked up by client order
        id, never resent. A held order is tracked again (its fills come with the next poll)."""
        request = request_from_row(row)
        found = self._lookup(request)
        self._client_ids.add(request.client_order_id)
        if found is None:
            return None
        order_id = str(found["id"])
        amount = to_decimal(float(found.get("amount") or request.quantity))
        self._open[order_id] = _Working(request, order_id, amount, amount)  # trades: next poll
        self._last_poll_ms = -(10**15)
        return order_id

    # --- cancels --------------------------------------------------------------------------------

    def cancel(self, order_id: str) -> bool:
        working = self._open.get(order_id)
        if working is None or working.closing:
            return False
        working.closing = True  # either way, the last poll books whatever filled before
        with translate_vendor_errors(self._venue):
            try:
                self._caller.call(self._ex.cancel_order, order_id, working.request.symbol)
            except ccxt.OrderNotFound:
                return False  # already closed at the venue (filled or expired), nothing cancelled
        return True

    def cancel_venue_order(self, symbol: str, order_id: str) -> bool:
        """Cancel an order at the venue by its id, whether this process placed it or not."""
        with translate_vendor_errors(self._venue):
            try:
                self._caller.call(self._ex.cancel_order, order_id, symbol)
            except ccxt.OrderNotFound:
                return False
        working = self._open.get(order_id)
        if working is not None:
            working.closing = True
        return True

    def cancel_all(self, strategy: str | None = None) -> int:
        doomed = [
            oid
            for oid, w in self._open.items()
            if not w.closing and (strategy is None or w.request.strategy == strategy)
        ]
        return sum(1 for oid in doomed if self.cancel(oid))

    def drain_closed(self) -> list[OrderRequest]:
        """Orders the venue closed before they filled in full, since the last call."""
        out, self._closed = self._closed, []
        return out

    def open_order_ids(self) -> Sequence[str]:
        return [oid for oid, w in self._open.items() if not w.closing]

    def open_quantity(self, strategy: str, venue: str, symbol: str) -> Decimal:
        return sum(
            (
                w.remaining * w.request.side.sign
                for w in self._open.values()
                if not w.closing and w.request.strategy == strategy and w.request.symbol == symbol
            ),
            ZERO,
        )

    # --- polling --------------------------------------------------------------------------------

    def on_market(self, bars: Iterable[Bar], quotes: Iterable[Quote]) -> Sequence[Fill]:
        """Book what the user-data stream brought; poll the venue by REST (at most once per poll
        interval) when there is no stream, it is down, or it has not been caught up since it
        (re)connected or closed an order with a trade it did not bring."""
        fills = self._from_stream()
        now = self._clock_ms()
        if not self._open or not self._rest_needed() or now - self._last_poll_ms < self._poll_interval_ms:
            return fills
        self._last_poll_ms = now
        return fills + self.poll()

    def _rest_needed(self) -> bool:
        stream = self.stream
        return (
            stream is None or not stream.healthy or stream.health.generation != self._caught_up or self._gap
        )

    def _from_stream(self) -> list[Fill]:
        """Fills and closes from the stream's executionReports of our working orders."""
        if self.stream is None:
            return []
        self.requests.stream_reconnects = self.stream.health.reconnects
        fills: list[Fill] = []
        for event in self.stream.drain():
            working = self._open.get(str(event.get("i")))
            if working is None:
                continue  # not ours, or already closed here
            if event.get("x") == "TRADE":
                new = self._book(working.request, working.order_id, [trade_of_report(event)], None, 0)
                working.remaining -= sum((f.quantity for f in new), ZERO)
                self.fill_sources["stream"] += len(new)
                fills.extend(new)
            if event.get("X") in CLOSED_AT_VENUE:
                if working.quantity - working.remaining >= to_decimal(str(event.get("z") or "0")):
                    del self._open[working.order_id]  # every trade of it is booked
                    if working.remaining > 0 or working.quantity < working.request.quantity:
                        self._closed.append(working.request)
                else:
                    self._gap = True  # closed with a trade the stream did not bring: REST catches up
        return fills

    def poll(self) -> list[Fill]:
        """Book every new fill of our working orders; forget orders the venue has closed.

        Two requests per symbol, however many orders work on it: the venue's open orders, then the
        account's trades since the last one seen (after the snapshot, so an order missing from it
        has all its trades in the second answer)."""
        fills: list[Fill] = []
        generation = self.stream.health.generation if self.stream is not None else 0
        for symbol in sorted({w.request.symbol for w in self._open.values()}):
            with translate_vendor_errors(self._venue):
                venue_open = {str(o["id"]) for o in self._caller.call(self._ex.fetch_open_orders, symbol)}
            working = {w.order_id: w for w in self._open.values() if w.request.symbol == symbol}
            for trade in self._new_trades(symbol):
                order = working.get(str(trade.get("order")))
                if order is None:
                    continue  # another order's trade (already closed, or not ours)
                new = self._book(order.request, order.order_id, [trade], None, self._clock_ms())
                order.remaining -= sum((f.quantity for f in new), ZERO)
                self.fill_sources["poll"] += len(new)
                fills.extend(new)
            for order in working.values():
                if order.closing or order.remaining <= 0 or order.order_id not in venue_open:
                    del self._open[order.order_id]
                    if order.remaining > 0 or order.quantity < order.request.quantity:
                        self._closed.append(order.request)
        self._caught_up, self._gap = generation, False  # everything before this generation is in
        return fills

    def _new_trades(self, symbol: str) -> list[dict[str, Any]]:
        """The account's trades on `symbol` after the last trade id seen; the first time, the most
        recent page (no time window: a long-resting order's first fill is not missed)."""
        out: list[dict[str, Any]] = []
        while True:
            next_id = self._next_trade_id.get(symbol)
            params = {} if next_id is None else {"fromId": next_id}
            with translate_vendor_errors(self._venue):
                page: list[dict[str, Any]] = self._caller.call(
                    self._ex.fetch_my_trades, symbol, None, TRADES_PAGE, params
                )
            out.extend(page)
            self._next_trade_id[symbol] = max((int(t["id"]) + 1 for t in page), default=next_id or 0)
            if next_id is None or len(page) < TRADES_PAGE:
                return out

    # --- reconciliation inputs --------------------------------------------------------------------

    def local_open_orders(self) -> list[OrderView]:
        """Our working orders, as the reconcile comparison takes them."""
        return [
            OrderView(
                w.request.client_order_id,
                self._venue,
                w.request.symbol,
                w.request.side,
                w.remaining,
                w.order_id,
                w.request.strategy,
            )
            for w in self._open.values()
            if not w.closing
        ]

    def venue_open_orders(self, symbols: Iterable[str]) -> list[OrderView]:
        """The venue's open orders on `symbols` (by client order id), whoever placed them."""
        out = []
        for symbol in sorted(set(symbols)):
            with translate_vendor_errors(self._venue):
                orders = self._caller.call(self._ex.fetch_open_orders, symbol)
            for o in orders:
                remaining = to_decimal(float(o.get("remaining") or 0))
                side = Side(str(o["side"]))
                out.append(
                    OrderView(
                        str(o.get("clientOrderId") or ""), self._venue, symbol, side, remaining, str(o["id"])
                    )
                )
        return out

    # --- account --------------------------------------------------------------------------------

    def balances(self) -> dict[str, Decimal]:
        """Total balance per asset at the venue (free + locked), zero balances left out."""
        with translate_vendor_errors(self._venue):
            raw = self._caller.call(self._ex.fetch_balance)
        return {asset: to_decimal(float(total)) for asset, total in (raw.get("total") or {}).items() if total}
