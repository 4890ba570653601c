"""The account as the runtime sees it: cash, per-strategy positions, marks, PnL and peaks.

Hot path: marks arrive for every bar. They are kept as floats and turned into Decimal only for
instruments somebody holds, and only when a figure needs them; equity, exposures and each strategy's
PnL stay exact Decimal and are cached until a fill or a held mark changes (a step reads them several
times: the day roll, the loss monitors, sizing and the gate).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from tradeops.domain.market import Bar
from tradeops.domain.money import ZERO, to_decimal
from tradeops.domain.trading import Fill, Position

Instrument = tuple[str, str]  # (venue, symbol)
DAY_MS = 86_400_000


@dataclass
class StrategyBook:
    realized: Decimal = ZERO
    fees: Decimal = ZERO
    day: int = -1
    day_start_pnl: Decimal = ZERO
    peak_pnl: Decimal = ZERO
    max_drawdown: Decimal = ZERO


@dataclass
class Portfolio:
    """Single-currency margin account: equity = cash + sum(quantity x mark)."""

    quote_asset: str
    cash: Decimal
    positions: dict[tuple[str, str, str], Position] = field(default_factory=dict)
    books: dict[str, StrategyBook] = field(default_factory=lambda: defaultdict(StrategyBook))
    peak_equity: Decimal = ZERO
    initial_equity: Decimal = ZERO
    _marks: dict[Instrument, float] = field(default_factory=dict)
    _decimal_marks: dict[Instrument, Decimal] = field(default_factory=dict)
    _open: dict[str, dict[Instrument, Position]] = field(default_factory=lambda: defaultdict(dict))
    _held: dict[Instrument, int] = field(default_factory=lambda: defaultdict(int))
    _equity: Decimal | None = None
    _figures: dict[tuple[str, str], Decimal] = field(default_factory=dict)  # (figure, strategy) -> value

    def __post_init__(self) -> None:
        self.initial_equity = self.initial_equity or self.cash
        self.peak_equity = max(self.peak_equity, self.equity())

    @classmethod
    def restore(
        cls,
        quote_asset: str,
        balances: Mapping[str, Decimal],
        positions: Iterable[Position],
        initial: Decimal,
        fees: Mapping[str, Decimal] | None = None,
    ) -> Portfolio:
        """The account as its store holds it; `fees` are the fees each strategy has paid so far."""
        cash = balances.get(quote_asset, initial)
        book = cls(quote_asset=quote_asset, cash=cash, initial_equity=initial)
        for strategy, paid in (fees or {}).items():
            book.books[strategy].fees += paid
        for pos in positions:
            book._store(pos)
            book.books[pos.strategy].realized += pos.realized_pnl
            if pos.is_open and (pos.venue, pos.symbol) not in book._marks:
                book._set_mark((pos.venue, pos.symbol), float(pos.avg_price), pos.avg_price)
        book._changed()
        book.peak_equity = max(book.peak_equity, book.equity())
        return book

    # --- updates ---------------------------------------------------------------------------------

    def _changed(self) -> None:
        """A fill or a held mark moved: every cached figure is stale."""
        self._equity = None
        if self._figures:
            self._figures.clear()

    def _set_mark(self, key: Instrument, price: float, exact: Decimal | None = None) -> None:
        self._marks[key] = price
        if exact is not None and self._held.get(key):
            self._decimal_marks[key] = exact
        else:
            self._decimal_marks.pop(key, None)  # made exact (once) when a figure reads it
        if self._held.get(key):
            self._changed()

    def mark(self, venue: str, symbol: str, price: float) -> None:
        self._set_mark((venue, symbol), price)

    def mark_bars(self, bars: Iterable[Bar]) -> None:
        """`mark` each bar's close (the engine's per-bar hot path, one call per step)."""
        marks, exact, held = self._marks, self._decimal_marks, self._held
        moved = False
        for bar in bars:
            key = (bar.venue, bar.symbol)
            marks[key] = bar.close
            exact.pop(key, None)
            if held.get(key):
                moved = True
        if moved:
            self._changed()

    def _store(self, pos: Position) -> None:
        key = (pos.venue, pos.symbol)
        was_open = key in self._open[pos.strategy]
        self.positions[(pos.strategy, pos.venue, pos.symbol)] = pos
        if pos.is_open:
            self._open[pos.strategy][key] = pos
            if not was_open:
                self._held[key] += 1
        elif was_open:
            del self._open[pos.strategy][key]
            self._held[key] -= 1
        self._changed()

    def apply_fill(self, fill: Fill) -> Position:
        key = (fill.strategy, fill.venue, fill.symbol)
        old = self.positions.get(key) or Position(fill.strategy, fill.venue, fill.symbol)
        new = old.apply(fill)
        self._store(new)
        self.cash += fill.cash_change
        book = self.books[fill.strategy]
        book.realized += new.realized_pnl - old.realized_pnl
        book.fees += fill.fee_value
        instrument = (fill.venue, fill.symbol)
        if instrument not in self._marks:
            self._marks[instrument] = float(fill.price)
        self._changed()
        return new

    def roll(self, now_ms: int) -> None:
        """Track peaks, drawdowns and the start-of-day PnL of each strategy (UTC days)."""
        self.peak_equity = max(self.peak_equity, self.equity())
        day = now_ms // DAY_MS
        for strategy, book in self.books.items():
            pnl = self.strategy_pnl(strategy)
            if book.day != day:
                book.day, book.day_start_pnl = day, pnl
            if pnl > book.peak_pnl:
                book.peak_pnl = pnl
            drawdown = book.peak_pnl - pnl
            if drawdown > book.max_drawdown:
                book.max_drawdown = drawdown

    # --- queries ---------------------------------------------------------------------------------

    def position(self, strategy: str, venue: str, symbol: str) -> Position:
        return self.positions.get((strategy, venue, symbol)) or Position(strategy, venue, symbol)

    def strategy_positions(self, strategy: str) -> list[Position]:
        return list(self._open[strategy].values())

    def open_positions(self, strategy: str) -> Mapping[Instrument, Position]:
        """The strategy's open positions by instrument, live (read it, do not keep it across fills)."""
        return self._open[strategy]

    def price(self, venue: str, symbol: str) -> Decimal:
        key = (venue, symbol)
        exact = self._decimal_marks.get(key)  # `_exact`'s first step, without its call
        return exact if exact is not None else self._exact(key)

    def _exact(self, key: Instrument) -> Decimal:
        """The mark as exact Decimal (`to_decimal` of the float), kept while somebody holds it."""
        exact = self._decimal_marks.get(key)
        if exact is not None:
            return exact
        raw = self._marks.get(key)
        if raw is None:
            return ZERO
        exact = to_decimal(raw)
        if self._held.get(key):
            self._decimal_marks[key] = exact
        return exact

    @property
    def marks(self) -> dict[Instrument, float]:
        return self._marks

    # The sums below add in the order of the positions, starting from ZERO, as `sum(..., ZERO)` did:
    # Decimal rounds at 28 digits, so the order is part of the result.

    def equity(self) -> Decimal:
        if self._equity is None:
            total = ZERO
            exact = self._decimal_marks
            for held in self._open.values():
                for key, p in held.items():
                    total += p.quantity * (exact.get(key) or self._exact(key))
            self._equity = self.cash + total
        return self._equity

    def gross_exposure(self) -> Decimal:
        cached = self._figures.get(("gross", ""))
        if cached is None:
            cached = ZERO
            for held in self._open.values():
                for key, p in held.items():
                    cached += p.exposure(self._exact(key))
            self._figures["gross", ""] = cached
        return cached

    def strategy_exposure(self, strategy: str) -> Decimal:
        cached = self._figures.get(("exposure", strategy))
        if cached is None:
            cached = ZERO
            for key, p in self._open[strategy].items():
                cached += p.exposure(self._exact(key))
            self._figures["exposure", strategy] = cached
        return cached

    def open_position_count(self) -> int:
        return sum(len(held) for held in self._open.values())

    def unrealized(self, strategy: str) -> Decimal:
        cached = self._figures.get(("unrealized", strategy))
        if cached is None:
            cached = ZERO
            exact = self._decimal_marks
            for key, p in self._open[strategy].items():
                cached += ((exact.get(key) or self._exact(key)) - p.avg_price) * p.quantity  # p.unrealized
            self._figures["unrealized", strategy] = cached
        return cached

    def strategy_pnl(self, strategy: str) -> Decimal:
        """Realized + unrealized - fees: what the strategy has made since the account started."""
        cached = self._figures.get(("pnl", strategy))
        if cached is None:
            book = self.books[strategy]
            cached = self._figures["pnl", strategy] = book.realized + self.unrealized(strategy) - book.fees
        return cached

    def day_pnl(self, strategy: str) -> Decimal:
        book = self.books[strategy]
        return self.strategy_pnl(strategy) - (book.day_start_pnl if book.day >= 0 else ZERO)

    def balances(self) -> dict[str, Decimal]:
        return {self.quote_asset: self.cash}
