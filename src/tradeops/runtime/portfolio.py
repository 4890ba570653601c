"""The account as the runtime sees it: cash, per-strategy positions, marks, PnL and peaks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

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
    marks: dict[Instrument, Decimal] = field(default_factory=dict)
    books: dict[str, StrategyBook] = field(default_factory=lambda: defaultdict(StrategyBook))
    peak_equity: Decimal = ZERO
    initial_equity: Decimal = ZERO

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
    ) -> Portfolio:
        cash = balances.get(quote_asset, initial)
        book = cls(quote_asset=quote_asset, cash=cash, initial_equity=initial)
        for pos in positions:
            book.positions[(pos.strategy, pos.venue, pos.symbol)] = pos
            book.books[pos.strategy].realized += pos.realized_pnl
            if pos.is_open:
                book.marks.setdefault((pos.venue, pos.symbol), pos.avg_price)
        return book

    # --- updates ---------------------------------------------------------------------------------

    def mark(self, venue: str, symbol: str, price: float) -> None:
        self.marks[(venue, symbol)] = to_decimal(price)

    def apply_fill(self, fill: Fill) -> Position:
        key = (fill.strategy, fill.venue, fill.symbol)
        old = self.positions.get(key) or Position(fill.strategy, fill.venue, fill.symbol)
        new = old.apply(fill)
        self.positions[key] = new
        self.cash -= fill.quantity * fill.price * fill.side.sign + fill.fee
        book = self.books[fill.strategy]
        book.realized += new.realized_pnl - old.realized_pnl
        book.fees += fill.fee
        self.marks.setdefault((fill.venue, fill.symbol), fill.price)
        return new

    def roll(self, now_ms: int) -> None:
        """Track peaks, drawdowns and the start-of-day PnL of each strategy (UTC days)."""
        self.peak_equity = max(self.peak_equity, self.equity())
        day = now_ms // DAY_MS
        for strategy, book in self.books.items():
            pnl = self.strategy_pnl(strategy)
            if book.day != day:
                book.day, book.day_start_pnl = day, pnl
            book.peak_pnl = max(book.peak_pnl, pnl)
            book.max_drawdown = max(book.max_drawdown, book.peak_pnl - pnl)

    # --- queries ---------------------------------------------------------------------------------

    def position(self, strategy: str, venue: str, symbol: str) -> Position:
        return self.positions.get((strategy, venue, symbol)) or Position(strategy, venue, symbol)

    def strategy_positions(self, strategy: str) -> list[Position]:
        return [p for (s, _, _), p in self.positions.items() if s == strategy and p.is_open]

    def price(self, venue: str, symbol: str) -> Decimal:
        return self.marks.get((venue, symbol), ZERO)

    def equity(self) -> Decimal:
        return self.cash + sum(
            (p.quantity * self.price(p.venue, p.symbol) for p in self.positions.values() if p.is_open), ZERO
        )

    def gross_exposure(self) -> Decimal:
        return sum((p.exposure(self.price(p.venue, p.symbol)) for p in self.positions.values()), ZERO)

    def strategy_exposure(self, strategy: str) -> Decimal:
        return sum(
            (p.exposure(self.price(p.venue, p.symbol)) for p in self.strategy_positions(strategy)), ZERO
        )

    def open_position_count(self) -> int:
        return sum(1 for p in self.positions.values() if p.is_open)

    def unrealized(self, strategy: str) -> Decimal:
        return sum(
            (p.unrealized(self.price(p.venue, p.symbol)) for p in self.strategy_positions(strategy)), ZERO
        )

    def strategy_pnl(self, strategy: str) -> Decimal:
        """Realized + unrealized - fees: what the strategy has made since the account started."""
        book = self.books[strategy]
        return book.realized + self.unrealized(strategy) - book.fees

    def day_pnl(self, strategy: str) -> Decimal:
        book = self.books[strategy]
        return self.strategy_pnl(strategy) - (book.day_start_pnl if book.day >= 0 else ZERO)

    def balances(self) -> dict[str, Decimal]:
        return {self.quote_asset: self.cash}
