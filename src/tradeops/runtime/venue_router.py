"""Order egress to several live venues behind one Exchange port: each order goes to the adapter of
its venue; cancels find the venue by the order id it gave. Composition only, no venue logic."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

from tradeops.domain.market import Bar, Quote
from tradeops.domain.money import ZERO
from tradeops.domain.trading import Fill, InstrumentLimits, OrderAck, OrderRequest
from tradeops.runtime.ports import Exchange
from tradeops.runtime.venue_reconcile import OrderView


class LiveVenue(Exchange, Protocol):
    """What a live venue adapter offers beyond the Exchange port (restart and reconcile inputs)."""

    def restore(self, orders: Iterable[Mapping[str, Any]], booked_trade_ids: Iterable[str]) -> int: ...

    def resolve(self, row: Mapping[str, Any]) -> str | None: ...

    def poll(self) -> list[Fill]: ...

    def drain_closed(self) -> list[OrderRequest]: ...

    def local_open_orders(self) -> list[OrderView]: ...

    def venue_open_orders(self, symbols: Iterable[str]) -> list[OrderView]: ...

    def balances(self) -> dict[str, Decimal]: ...

    def cancel_venue_order(self, symbol: str, order_id: str) -> bool: ...


class VenueRouter:
    """implements runtime.ports.Exchange over one adapter per venue."""

    requires_durable_intent = True  # the venues are outside the process: flush the log first

    def __init__(self, venues: Mapping[str, LiveVenue], symbols: Mapping[str, Iterable[str]]) -> None:
        self.venues = dict(venues)
        self.symbols = {name: sorted(set(symbols.get(name, ()))) for name in self.venues}
        self._owner: dict[str, str] = {}  # venue order id -> venue name

    def _venue(self, name: str) -> LiveVenue:
        if name not in self.venues:
            raise KeyError(f"no live venue {name!r}; configured: {', '.join(self.venues)}")
        return self.venues[name]

    def instrument_limits(self, venue: str, symbol: str) -> InstrumentLimits | None:
        adapter = self.venues.get(venue)
        return None if adapter is None else adapter.instrument_limits(venue, symbol)

    def submit(self, order: OrderRequest) -> OrderAck:
        ack = self._venue(order.venue).submit(order)
        self._owner[ack.order_id] = order.venue
        return ack

    def cancel(self, order_id: str) -> bool:
        owner = self._owner.get(order_id)
        names = [owner] if owner else [n for n, v in self.venues.items() if order_id in v.open_order_ids()]
        return any(self.venues[n].cancel(order_id) for n in names)

    def cancel_all(self, strategy: str | None = None) -> int:
        return sum(v.cancel_all(strategy) for v in self.venues.values())

    def open_order_ids(self) -> Sequence[str]:
        return [oid for v in self.venues.values() for oid in v.open_order_ids()]

    def open_quantity(self, strategy: str, venue: str, symbol: str) -> Decimal:
        adapter = self.venues.get(venue)
        return ZERO if adapter is None else adapter.open_quantity(strategy, venue, symbol)

    def on_market(self, bars: Iterable[Bar], quotes: Iterable[Quote]) -> Sequence[Fill]:
        bars, quotes = list(bars), list(quotes)
        return [f for v in self.venues.values() for f in v.on_market(bars, quotes)]

    def poll(self) -> list[Fill]:
        return [f for v in self.venues.values() for f in v.poll()]

    def drain_closed(self) -> list[OrderRequest]:
        return [o for v in self.venues.values() for o in v.drain_closed()]

    # --- restart ----------------------------------------------------------------------------------

    def restore(self, orders: Iterable[Mapping[str, Any]], booked: Mapping[str, Iterable[str]]) -> int:
        rows = list(orders)
        for row in rows:
            if row.get("order_id"):
                self._owner[str(row["order_id"])] = str(row["venue"])
        return sum(v.restore(rows, booked.get(name, ())) for name, v in self.venues.items())

    def resolve(self, row: Mapping[str, Any]) -> str | None:
        order_id = self._venue(str(row["venue"])).resolve(row)
        if order_id is not None:
            self._owner[order_id] = str(row["venue"])
        return order_id

    # --- reconcile inputs ---------------------------------------------------------------------------

    def local_open_orders(self) -> list[OrderView]:
        return [o for v in self.venues.values() for o in v.local_open_orders()]

    def venue_open_orders(self) -> list[OrderView]:
        """Open orders at every venue on the symbols we trade or have working there."""
        out = []
        for name, venue in self.venues.items():
            working = {o.symbol for o in venue.local_open_orders()}
            out.extend(venue.venue_open_orders(sorted(set(self.symbols[name]) | working)))
        return out

    def venue_balances(self) -> dict[tuple[str, str], Decimal]:
        return {
            (name, asset): total for name, v in self.venues.items() for asset, total in v.balances().items()
        }

    def cancel_everything(self) -> list[tuple[str, str, str]]:
        """Cancel every open order at every venue on our symbols, ours or not (the watchdog's
        action): (venue, symbol, venue order id) of each order cancelled."""
        done = []
        for name, venue in self.venues.items():
            for order in venue.venue_open_orders(self.symbols[name]):
                if order.venue_order_id and venue.cancel_venue_order(order.symbol, order.venue_order_id):
                    done.append((name, order.symbol, order.venue_order_id))
        return done
