"""Simulated venues. An order becomes fillable `latency_ms` after submission and fills against the
next bar of its instrument through the matching core (paper/matching.py, shared with the exchange
simulator): market orders at the bar's open plus slippage (taker fee), limit orders at their limit
when the bar trades through it (maker fee). Each bar fills at most `max_volume_participation` of its
volume; the rest stays open for later bars (partial fills)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tradeops.config.models import VenueConfig
from tradeops.domain.market import Bar, Quote
from tradeops.domain.money import ZERO, to_decimal
from tradeops.domain.trading import Fill, InstrumentLimits, OrderAck, OrderRequest, OrderType, Side
from tradeops.exchanges.errors import OrderRejected
from tradeops.exchanges.paper.matching import BarView, MatchModel, match_order
from tradeops.exchanges.precision import MarketRules


@dataclass
class _OpenOrder:
    order_id: str
    request: OrderRequest
    eligible_ms: int
    remaining: Decimal


@dataclass(frozen=True, slots=True)
class _VenueModel:
    core: MatchModel
    latency_ms: int

    @classmethod
    def from_config(cls, cfg: VenueConfig) -> _VenueModel:
        return cls(match_model(cfg), cfg.latency_ms)


def match_model(cfg: VenueConfig) -> MatchModel:
    """The matching parameters of one configured venue (fees, slippage, participation, step)."""
    return MatchModel(
        maker_fee=to_decimal(cfg.maker_fee),
        taker_fee=to_decimal(cfg.taker_fee),
        slippage=to_decimal(cfg.slippage_bps) / Decimal(10_000),
        participation=to_decimal(cfg.max_volume_participation),
        quantity_step=to_decimal(cfg.quantity_step),
    )


def _same_decimal(a: Decimal, b: Decimal) -> bool:
    """The same number written the same way (1.50 is not 1.5 here: the text reaches the log)."""
    return a == b and a.same_quantum(b) and a.is_signed() == b.is_signed()  # as_tuple() equal


class UnknownVenue(ValueError):
    pass


class PaperExchange:
    """Implements runtime.ports.Exchange for any number of simulated venues.

    The venue lives in the process, so its book is persisted through the decision log like the rest
    of the account: `restore` reloads the open orders and the order-id counter from the projected
    store, and an order cannot be acted on before the process that journals it runs again
    (`requires_durable_intent` is False: no fsync per order).
    """

    requires_durable_intent = False

    def __init__(
        self,
        venues: Mapping[str, VenueConfig],
        clock_ms: Callable[[], int],
        interval_ms: Callable[[str, str], int],
        quote_asset: str = "USDT",
    ) -> None:
        self._models = {name: _VenueModel.from_config(cfg) for name, cfg in venues.items()}
        self._clock_ms = clock_ms
        self._interval_ms = interval_ms
        self._intervals: dict[tuple[str, str], int] = {}
        self._quote_asset = quote_asset
        self._open: dict[str, _OpenOrder] = {}
        self._by_key: dict[tuple[str, str, str], set[str]] = {}
        self._ids = itertools.count(1)
        self._rules = {name: MarketRules.from_venue_config("*", cfg) for name, cfg in venues.items()}
        self._client_ids: set[str] = set()  # client order ids are unique forever

    def restore(self, orders: Iterable[Mapping[str, Any]], last_order_seq: int) -> int:
        """Reload the persisted book (rows of the store's `orders` table with status open) and
        continue the order-id counter after `last_order_seq`. Return the number of orders."""
        self._ids = itertools.count(last_order_seq + 1)
        count = 0
        for row in orders:
            model = self._models.get(row["venue"])
            if model is None:
                raise UnknownVenue(f"persisted order {row['order_id']} is on unknown venue {row['venue']!r}")
            request = OrderRequest(
                client_order_id=row["client_order_id"],
                strategy=row["strategy"],
                venue=row["venue"],
                symbol=row["symbol"],
                side=Side(row["side"]),
                quantity=row["quantity"],
                reference_price=ZERO,
                ts=int(row["ts"]),
                order_type=OrderType(row["order_type"]),
                limit_price=row["limit_price"],
                reduce_only=bool(row["reduce_only"]),
            )
            order_id = str(row["order_id"])
            eligible = int(row["ts"]) + model.latency_ms
            self._open[order_id] = _OpenOrder(order_id, request, eligible, row["quantity"] - row["filled"])
            self._index(order_id, request)
            self._client_ids.add(request.client_order_id)
            count += 1
        return count

    def lookup(self, client_order_id: str) -> str | None:
        """The venue's id of a working order with this client id (None: the venue never took it)."""
        return next(
            (oid for oid, o in self._open.items() if o.request.client_order_id == client_order_id), None
        )

    def instrument_limits(self, venue: str, symbol: str) -> InstrumentLimits | None:
        """The venue's configured step and minimums (the same for every symbol of it)."""
        rules = self._rules.get(venue)
        return None if rules is None else rules.limits()

    def submit(self, order: OrderRequest) -> OrderAck:
        model = self._models.get(order.venue)
        if model is None:
            raise UnknownVenue(f"unknown venue {order.venue!r}; configured: {', '.join(self._models)}")
        if order.client_order_id in self._client_ids:
            raise OrderRejected(f"{order.venue}: duplicate client order id {order.client_order_id}")
        quantity, _price = self._rules[order.venue].prepare(order)  # as a live venue would
        if not _same_decimal(quantity, order.quantity):  # the engine sizes in steps: mostly equal
            order = OrderRequest(  # dataclasses.replace(order, quantity=quantity), without its field walk
                order.client_order_id,
                order.strategy,
                order.venue,
                order.symbol,
                order.side,
                quantity,
                order.reference_price,
                order.ts,
                order.order_type,
                order.limit_price,
                order.reduce_only,
            )
        self._client_ids.add(order.client_order_id)
        order_id = f"paper-{order.venue}-{next(self._ids)}"
        eligible = self._clock_ms() + model.latency_ms
        self._open[order_id] = _OpenOrder(order_id, order, eligible, order.quantity)
        self._index(order_id, order)
        return OrderAck(order_id=order_id, fills=(), open_quantity=order.quantity)

    def cancel(self, order_id: str) -> bool:
        return self._drop(order_id) is not None

    def cancel_all(self, strategy: str | None = None) -> int:
        doomed = [oid for oid, o in self._open.items() if strategy is None or o.request.strategy == strategy]
        for oid in doomed:
            self._drop(oid)
        return len(doomed)

    def open_order_ids(self) -> Sequence[str]:
        return list(self._open)

    def drain_closed(self) -> Sequence[OrderRequest]:
        return ()  # a paper order rests until filled or cancelled: none closes with a remainder

    def open_quantity(self, strategy: str, venue: str, symbol: str) -> Decimal:
        """Signed quantity still working for one strategy and instrument."""
        ids = self._by_key.get((strategy, venue, symbol))
        if not ids:
            return ZERO
        if len(ids) == 1:  # the common case, as sum() adds it: ZERO + the one order's
            only = self._open[next(iter(ids))]
            return ZERO + only.remaining * only.request.side.sign
        return sum((self._open[i].remaining * self._open[i].request.side.sign for i in ids), ZERO)

    def _index(self, order_id: str, request: OrderRequest) -> None:
        self._by_key.setdefault((request.strategy, request.venue, request.symbol), set()).add(order_id)

    def _drop(self, order_id: str) -> _OpenOrder | None:
        order = self._open.pop(order_id, None)
        if order is not None:
            r = order.request
            self._by_key[(r.strategy, r.venue, r.symbol)].discard(order_id)
        return order

    def on_market(self, bars: Iterable[Bar], quotes: Iterable[Quote] = ()) -> Sequence[Fill]:
        if not self._open:
            return []
        by_instrument = {b[:2]: b for b in bars}  # by (venue, symbol)
        views: dict[tuple[str, str], BarView] = {}  # each bar as Decimals, once for all its orders
        fills: list[Fill] = []
        intervals = self._intervals
        for oid in list(self._open):
            order = self._open[oid]
            request = order.request
            key = (request.venue, request.symbol)
            bar = by_instrument.get(key)
            if bar is None:
                continue
            interval = intervals.get(key)
            if interval is None:  # asked once per instrument: a series keeps its interval
                interval = intervals[key] = self._interval_ms(*key)
            # A bar covers [ts, ts + interval): an order eligible before the bar closed trades on it.
            if bar.ts + interval <= order.eligible_ms:
                continue
            view = views.get(key)
            if view is None:
                view = views[key] = BarView(
                    to_decimal(bar.open), to_decimal(bar.high), to_decimal(bar.low), to_decimal(bar.volume)
                )
            fill = self._match(order, bar, view)
            if fill is None:
                continue
            fills.append(fill)
            order.remaining -= fill.quantity
            if order.remaining <= 0:
                self._drop(oid)
        return fills

    def _match(self, order: _OpenOrder, bar: Bar, view: BarView) -> Fill | None:
        request = order.request
        found = match_order(
            request.side,
            request.order_type,
            request.limit_price,
            order.remaining,
            view,
            self._models[request.venue].core,
        )
        if found is None:
            return None
        return Fill(
            order.order_id,
            request.client_order_id,
            request.strategy,
            request.venue,
            request.symbol,
            request.side,
            found.quantity,
            found.price,
            found.fee_quote,
            self._quote_asset,
            found.liquidity,
            max(bar.ts, order.eligible_ms),
        )
