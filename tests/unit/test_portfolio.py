from __future__ import annotations

from decimal import Decimal

from tradeops.domain.market import Bar
from tradeops.domain.trading import Fill, Liquidity, Side
from tradeops.runtime.portfolio import Portfolio


def fill(side: Side, qty: str, price: str, fee: str = "0") -> Fill:
    return Fill(
        "o",
        "c",
        "s1",
        "binance",
        "BTC/USDT",
        side,
        Decimal(qty),
        Decimal(price),
        Decimal(fee),
        "USDT",
        Liquidity.TAKER,
        1,
    )


def test_round_trip_books_realized_pnl_fees_and_cash():
    book = Portfolio("USDT", Decimal(10_000))
    book.apply_fill(fill(Side.BUY, "2", "100", "0.1"))
    book.mark("binance", "BTC/USDT", 110.0)
    assert book.unrealized("s1") == Decimal(20)
    assert book.equity() == Decimal(10_000) - Decimal("0.1") + Decimal(20)
    book.apply_fill(fill(Side.SELL, "2", "110", "0.1"))
    assert book.books["s1"].realized == Decimal(20)
    assert book.books["s1"].fees == Decimal("0.2")
    assert book.cash == Decimal(10_000) + Decimal(20) - Decimal("0.2")
    assert book.open_position_count() == 0


def test_short_then_flip_long():
    book = Portfolio("USDT", Decimal(10_000))
    book.apply_fill(fill(Side.SELL, "1", "100"))
    pos = book.apply_fill(fill(Side.BUY, "3", "90"))
    assert pos.quantity == Decimal(2) and pos.avg_price == Decimal(90)
    assert book.books["s1"].realized == Decimal(10)


def test_day_pnl_resets_at_utc_midnight():
    book = Portfolio("USDT", Decimal(10_000))
    book.apply_fill(fill(Side.BUY, "1", "100"))
    book.mark("binance", "BTC/USDT", 90.0)
    book.roll(1)
    assert book.day_pnl("s1") == Decimal(0)  # the day started with this loss already in
    book.mark("binance", "BTC/USDT", 80.0)
    assert book.day_pnl("s1") == Decimal(-10)
    book.roll(86_400_000 + 1)
    assert book.day_pnl("s1") == Decimal(0)


def _fresh(book: Portfolio, strategy: str) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """The figures recomputed from the positions and marks, without any cache."""
    unrealized = sum(
        (p.unrealized(book.price(p.venue, p.symbol)) for p in book.strategy_positions(strategy)), Decimal(0)
    )
    exposure = sum(
        (p.exposure(book.price(p.venue, p.symbol)) for p in book.strategy_positions(strategy)), Decimal(0)
    )
    held = sum(
        (p.quantity * book.price(p.venue, p.symbol) for p in book.positions.values() if p.is_open), Decimal(0)
    )
    pnl = book.books[strategy].realized + unrealized - book.books[strategy].fees
    return book.cash + held, unrealized, exposure, pnl


def test_cached_figures_follow_every_fill_and_every_held_mark():
    book = Portfolio("USDT", Decimal(10_000))

    def bar(close: float) -> None:
        book.mark_bars([Bar("binance", "BTC/USDT", 0, 1.0, 1.0, 1.0, close, 1.0)])

    steps = [
        lambda: book.apply_fill(fill(Side.BUY, "2", "100", "0.01")),
        lambda: book.mark("binance", "BTC/USDT", 101.25),
        lambda: book.mark("binance", "ETH/USDT", 7.5),  # not held: no figure moves
        lambda: book.apply_fill(fill(Side.SELL, "0.5", "102", "0.01")),
        lambda: book.mark("binance", "BTC/USDT", 99.0),
        lambda: bar(98.5),
        lambda: book.apply_fill(fill(Side.SELL, "3", "97", "0.01")),  # through zero: short 1.5
        lambda: bar(96.0),
        lambda: book.apply_fill(fill(Side.BUY, "1.5", "95", "0.01")),  # flat again
        lambda: book.mark("binance", "BTC/USDT", 120.0),
    ]
    for step in steps:
        step()
        # Read every figure (filling the caches), then compare with a recomputation.
        figures = (book.equity(), book.unrealized("s1"), book.strategy_exposure("s1"))
        assert (*figures, book.strategy_pnl("s1")) == _fresh(book, "s1")
        assert book.gross_exposure() == figures[2]
        book.roll(1)
    assert book.open_position_count() == 0
    assert book.equity() == book.cash


def test_a_held_mark_is_exact_decimal_of_its_float():
    book = Portfolio("USDT", Decimal(10_000))
    book.apply_fill(fill(Side.BUY, "1", "100"))
    book.mark_bars([Bar("binance", "BTC/USDT", 0, 1.0, 1.0, 1.0, 100.1, 1.0)])
    assert book.price("binance", "BTC/USDT") == Decimal("100.1")
    assert book.unrealized("s1") == Decimal("0.1")
