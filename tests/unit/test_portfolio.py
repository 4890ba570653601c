from __future__ import annotations

from decimal import Decimal

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
