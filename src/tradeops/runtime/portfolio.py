"""The account as the runtime sees it: cash, per-strategy positions, marks, PnL and peaks.

Hot path: marks arrive for every bar. They are kept as floats and turned into Decimal only for
instruments somebody holds, and only when a figure needs them; equity, exposures and each strategy's
PnL stay exact Decimal and are cached until a fill or a held mark changes (a step reads them several
times: the day roll, the loss monitors, sizing and the gate). A held mark that moves makes only the
figures of strategies holding something stale: a flat strategy's last until its next fill.
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
    _gross: Decimal | None = None
    # Per-strategy cached figures; a strategy without an entry is recomputed on the next read.
    _unrealized: dict[str, Decimal] = field(default_factory=dict)
    _exposure: dict[str, Decimal] = field(default_factory=dict)
    _pnl: dict[str, Decimal] = field(default_factory=dict)
    _day_pnl: dict[str, Decimal] = field(default_factory=dict)
    _rolled: dict[str, tuple[int, Decimal]] = field(default_factory=dict)  # (day, pnl) the roll last saw

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
        for figures in (book._unrealized, book._exposure, book._pnl, book._day_pnl):
            figures.clear()  # the fees above moved flat strategies' figures too
        book.peak_equity = max(book.peak_equity, book.equity())
        return book

    # --- updates ---------------------------------------------------------------------------------

    def _changed(self, strategy: str | None = None) -> None:
        """A fill of `strategy` (None: a held mark moved): the account's figures are stale, and
        that strategy's (None: those of every strategy holding something)."""
        self._equity = self._gross = None
        if strategy is not None:
            self._forget(strategy)
        else:
            unrealized, exposure, pnl, day_pnl = self._unrealized, self._exposure, self._pnl, self._day_pnl
            for name, held in self._open.items():
                if held:  # `_forget(name)`, inlined: once per held mark moving
                    unrealized.pop(name, None)
                    exposure.pop(name, None)
                    pnl.pop(name, None)
                    day_pnl.pop(name, None)

    def _forget(self, strategy: str) -> None:
        self._unrealized.pop(strategy, None)
        self._exposure.pop(strategy, None)
        self._pnl.pop(strategy, None)
        self._day_pnl.pop(strategy, None)

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
        marks, exact = self._marks, self._decimal_marks
        moved = False
        for bar in bars:
            key = bar[:2]  # (venue, symbol)
            marks[key] = bar.close
            # Exact marks are kept for held instruments only, and made by every figure that reads one:
            # a held instrument without one has no figure cached on it, so only a dropped one moves any.
            if exact.pop(key, None) is not None:
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
            if not self._held[key]:
                self._decimal_marks.pop(key, None)  # exact marks are kept for held instruments only
        self._changed(pos.strategy)

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
        self._changed(fill.strategy)
        return new

    def roll(self, now_ms: int) -> None:
        """Track peaks, drawdowns and the start-of-day PnL of each strategy (UTC days)."""
        equity = self.equity()
        if equity > self.peak_equity:
            self.peak_equity = equity
        day = now_ms // DAY_MS
        rolled, cached, day_pnls = self._rolled, self._pnl, self._day_pnl
        for strategy, book in self.books.items():
            pnl = cached.get(strategy)  # `strategy_pnl`'s first step, without its call
            if pnl is None:
                pnl = self.strategy_pnl(strategy)
            seen = rolled.get(strategy)
            if seen is not None and seen[1] is pnl and seen[0] == day == book.day:
                continue  # the same figure on the same day: peak and drawdown already hold it
            rolled[strategy] = (day, pnl)
            if book.day != day:
                book.day, book.day_start_pnl = day, pnl
                day_pnls.pop(strategy, None)
            if strategy not in day_pnls:  # `day_pnl`'s figure (the loss monitors read it next)
                day_pnls[strategy] = pnl - book.day_start_pnl
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

    def exact_mark(self, key: Instrument) -> Decimal:
        """`price(*key)`, for a caller holding the instrument's key."""
        exact = self._decimal_marks.get(key)
        return exact if exact is not None else self._exact(key)

    def _exact(self, key: Instrument) -> Decimal:
        """The mark as exact Decimal (`to_decimal` of the float), kept while somebody holds it."""
        exact = self._decimal_marks.get(key)
        if exact is not None:
            return exact
        raw = self._marks.get(key)
        if raw is None:
            return ZERO
        exact = Decimal(repr(raw)) if type(raw) is float else to_decimal(raw)  # to_decimal, inlined
        if self._held.get(key):
            self._decimal_marks[key] = exact
        return exact

    @property
    def marks(self) -> dict[Instrument, float]:
        return self._marks

    @property
    def exact_marks(self) -> Mapping[Instrument, Decimal]:
        """The exact marks made so far (held instruments only; `exact_mark` makes a missing one)."""
        return self._decimal_marks

    # The sums below add in the order of the positions, starting from ZERO, as `sum(..., ZERO)` did:
    # Decimal rounds at 28 digits, so the order is part of the result.

    def equity(self) -> Decimal:
        equity = self._equity
        if equity is None:
            total = ZERO
            exact = self._decimal_marks
            for held in self._open.values():
                for key, p in held.items():
                    mark = exact.get(key)
                    total += p.quantity * (mark if mark is not None else self._exact(key))
            equity = self._equity = self.cash + total
        return equity

    def gross_exposure(self) -> Decimal:
        cached = self._gross
        if cached is None:
            cached = ZERO
            for held in self._open.values():
                for key, p in held.items():
                    cached += p.exposure(self._exact(key))
            self._gross = cached
        return cached

    def strategy_exposure(self, strategy: str) -> Decimal:
        cached = self._exposure.get(strategy)
        if cached is None:
            cached = ZERO
            for key, p in self._open[strategy].items():
                cached += p.exposure(self._exact(key))
            self._exposure[strategy] = cached
        return cached

    def open_position_count(self) -> int:
        return sum(len(held) for held in self._open.values())

    def unrealized(self, strategy: str) -> Decimal:
        cached = self._unrealized.get(strategy)
        if cached is None:
            cached = ZERO
            exact = self._decimal_marks
            for key, p in self._open[strategy].items():
                mark = exact.get(key)
                if mark is None:
                    mark = self._exact(key)
                cached += (mark - p.avg_price) * p.quantity  # p.unrealized
            self._unrealized[strategy] = cached
        return cached

    def strategy_pnl(self, strategy: str) -> Decimal:
        """Realized + unrealized - fees: what the strategy has made since the account started."""
        cached = self._pnl.get(strategy)
        if cached is None:
            book = self.books[strategy]
            cached = self._pnl[strategy] = book.realized + self.unrealized(strategy) - book.fees
        return cached

    def day_pnl(self, strategy: str) -> Decimal:
        cached = self._day_pnl.get(strategy)
        if cached is None:
            book = self.books[strategy]
            start = book.day_start_pnl if book.day >= 0 else ZERO
            cached = self._day_pnl[strategy] = self.strategy_pnl(strategy) - start
        return cached

    def balances(self) -> dict[str, Decimal]:
        return {self.quote_asset: self.cash}
