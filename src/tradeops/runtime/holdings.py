"""The holdings a strategy is shown before each cycle: one `Holding` per open position that is not
dust, at the current marks (the engine's `_holdings`).

The floats of a position (its quantity and entry price) and of its instrument (the venue's minimums,
the bar interval) are taken once per position object, not per cycle: a fill replaces the object.
Each weight is `planning.share_weight` with the share of the budget taken once per cycle (what
`holding_weight` computes), so the floats strategies read are the same bits."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import NamedTuple

from tradeops.allocation.planning import clearly_not_dust, is_dust
from tradeops.domain.trading import InstrumentLimits, Position
from tradeops.runtime.portfolio import Instrument, Portfolio
from tradeops.strategies.base import Holding

new_tuple = tuple.__new__


class HeldView(NamedTuple):
    position: Position  # the position the figures were taken of
    exact_quantity: Decimal  # position.quantity
    opened_ts: int
    quantity: float
    size: float  # abs(quantity)
    avg_price: float
    limits: InstrumentLimits | None
    floor: float  # max(step, min_quantity)
    min_notional: float
    interval: int


class HoldingsView:
    def __init__(
        self,
        limits: Callable[[str, str], InstrumentLimits | None],
        interval_ms: Callable[[str, str], int],
    ) -> None:
        self._limits = limits
        self._interval_ms = interval_ms
        self._views: dict[str, dict[Instrument, HeldView]] = {}  # per strategy

    def holdings(
        self,
        strategy: str,
        open_positions: Mapping[Instrument, Position],
        share: Decimal,
        book: Portfolio,
        now_ms: int,
    ) -> dict[Instrument, Holding]:
        """`open_positions` as Holdings; `share`: planning.holding_share of the strategy's budget."""
        exact, exact_mark, marks = book.exact_marks, book.exact_mark, book.marks
        views = self._views.get(strategy)
        if views is None:
            views = self._views[strategy] = {}
        held = {}
        for key, pos in open_positions.items():
            view = views.get(key)
            if view is None or view.position is not pos:
                view = views[key] = self._view(pos, view)
            _, quantity, opened_ts, float_quantity, size, avg_price, venue, floor, min_notional, interval = (
                view
            )
            mark = exact.get(key)  # `exact_mark`'s first step, without its call
            if mark is None:
                mark = exact_mark(key)
            if (
                venue is not None
                and not clearly_not_dust(size, marks.get(key, 0.0), floor, min_notional)
                and is_dust(
                    quantity,
                    mark,
                    step=venue.step,
                    min_quantity=venue.min_quantity,
                    min_notional=venue.min_notional,
                )
            ):
                continue  # what no order can trade is not a holding the strategy acts on
            bars_held = (now_ms - opened_ts) // interval
            held[key] = new_tuple(  # Holding(...), without its Python-level __new__
                Holding,
                (
                    key[0],  # pos.venue
                    key[1],  # pos.symbol
                    float(quantity * mark / share),  # share_weight(pos.quantity, mark, share), inlined
                    float_quantity,
                    avg_price,
                    opened_ts,
                    bars_held if bars_held > 0 else 0,
                ),
            )
        return held

    def _view(self, pos: Position, old: HeldView | None) -> HeldView:
        quantity = float(pos.quantity)
        if old is not None:  # a fill: the same instrument
            limits, floor, min_notional, interval = old.limits, old.floor, old.min_notional, old.interval
        else:
            limits = self._limits(pos.venue, pos.symbol)
            floor = float(max(limits.step, limits.min_quantity)) if limits is not None else 0.0
            min_notional = float(limits.min_notional) if limits is not None else 0.0
            interval = max(1, self._interval_ms(pos.venue, pos.symbol))
        avg_price = float(pos.avg_price)
        return HeldView(
            pos,
            pos.quantity,
            pos.opened_ts,
            quantity,
            abs(quantity),
            avg_price,
            limits,
            floor,
            min_notional,
            interval,
        )
