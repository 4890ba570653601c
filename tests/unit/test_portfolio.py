from __future__ import annotations

import dataclasses
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tradeops.domain.market import Bar
from tradeops.domain.trading import Fill, Liquidity, Position, Side
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


def test_figures_of_a_flat_strategy_and_of_a_holder_follow_marks_fills_and_repeated_closes():
    book = Portfolio("USDT", Decimal(10_000))
    other = dataclasses.replace(fill(Side.BUY, "1", "50", "0.02"), strategy="s2", symbol="ETH/USDT")

    def bars(btc: float, eth: float) -> None:
        book.mark_bars(
            [
                Bar("binance", "BTC/USDT", 0, 1.0, 1.0, 1.0, btc, 1.0),
                Bar("binance", "ETH/USDT", 0, 1.0, 1.0, 1.0, eth, 1.0),
            ]
        )

    steps = [
        lambda: book.apply_fill(fill(Side.BUY, "2", "100", "0.01")),
        lambda: book.apply_fill(other),
        lambda: bars(101.5, 51.0),
        lambda: bars(101.5, 51.0),  # the same closes: nothing moves
        lambda: book.apply_fill(dataclasses.replace(other, side=Side.SELL, price=Decimal(52))),  # s2 flat
        lambda: bars(99.25, 53.0),
        lambda: bars(99.25, 0.0),
        lambda: book.apply_fill(fill(Side.SELL, "2", "99", "0.01")),  # both flat
        lambda: bars(120.0, 60.0),
    ]
    peaks = dict.fromkeys(("s1", "s2"), Decimal(0))
    drawdowns = dict(peaks)
    for number, step in enumerate(steps):
        step()
        book.roll(number * 6 * 3_600_000)  # four steps a day: the day PnL restarts twice
        for strategy in ("s1", "s2"):
            figures = (book.equity(), book.unrealized(strategy), book.strategy_exposure(strategy))
            assert (*figures, book.strategy_pnl(strategy)) == _fresh(book, strategy)
            start = book.books[strategy].day_start_pnl
            assert book.day_pnl(strategy) == book.strategy_pnl(strategy) - start
            peaks[strategy] = max(peaks[strategy], _fresh(book, strategy)[3])
            drawdowns[strategy] = max(drawdowns[strategy], peaks[strategy] - _fresh(book, strategy)[3])
            assert (book.books[strategy].peak_pnl, book.books[strategy].max_drawdown) == (
                peaks[strategy],
                drawdowns[strategy],
            )


def test_a_restored_mark_is_replaced_by_the_next_close_even_when_its_float_is_the_same():
    position = Position("s1", "binance", "BTC/USDT", Decimal(1), Decimal("100.1000000000000000001"))
    book = Portfolio.restore("USDT", {"USDT": Decimal(1000)}, [position], Decimal(1000))
    assert book.price("binance", "BTC/USDT") == Decimal("100.1000000000000000001")  # until a bar
    book.mark_bars([Bar("binance", "BTC/USDT", 0, 1.0, 1.0, 1.0, 100.1, 1.0)])  # == float(avg)
    assert book.price("binance", "BTC/USDT") == Decimal("100.1")
    assert book.equity() == Decimal(1000) + Decimal("100.1")


_INSTRUMENTS = (("binance", "BTC/USDT"), ("binance", "ETH/USDT"), ("bybit", "BTC/USDT"))
_OPS = st.one_of(
    st.tuples(
        st.just("fill"),
        st.sampled_from(("s1", "s2")),
        st.sampled_from(_INSTRUMENTS),
        st.sampled_from((Side.BUY, Side.SELL)),
        st.sampled_from(("0.001", "0.5", "1", "2.25")),
        st.sampled_from(("99.5", "100", "101.37")),
    ),
    st.tuples(
        st.just("bars"),
        st.lists(st.tuples(st.sampled_from(_INSTRUMENTS), st.floats(1.0, 200.0)), max_size=3),
    ),
    st.tuples(st.just("read"), st.sampled_from(("equity", "s1", "s2", "gross", "price"))),
    st.tuples(st.just("roll"), st.integers(0, 3)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_OPS, max_size=30))
def test_cached_figures_equal_a_recomputation_whatever_was_read_between_marks_and_fills(ops):
    """Figures read only now and then (so a held mark may move while nothing reads it) still
    equal a recomputation from the positions and the marks' exact Decimals."""
    book = Portfolio("USDT", Decimal(10_000))
    for op in ops:
        if op[0] == "fill":
            _, strategy, (venue, symbol), side, qty, price = op
            book.apply_fill(
                dataclasses.replace(
                    fill(side, qty, price, "0.01"), strategy=strategy, venue=venue, symbol=symbol
                )
            )
        elif op[0] == "bars":
            book.mark_bars([Bar(v, s, 0, 1.0, 1.0, 1.0, close, 1.0) for (v, s), close in op[1]])
        elif op[0] == "read":
            what = op[1]
            if what == "equity":
                book.equity()
            elif what == "gross":
                book.gross_exposure()
            elif what == "price":
                book.price(*_INSTRUMENTS[0])
            else:
                book.day_pnl(what)
                book.strategy_exposure(what)
        else:
            book.roll(op[1] * 43_200_000)
    for strategy in ("s1", "s2"):
        figures = (book.equity(), book.unrealized(strategy), book.strategy_exposure(strategy))
        assert (*figures, book.strategy_pnl(strategy)) == _fresh(book, strategy)
    for (venue, symbol), raw in book.marks.items():
        if any(p.is_open and (p.venue, p.symbol) == (venue, symbol) for p in book.positions.values()):
            assert book.price(venue, symbol) == Decimal(repr(raw))
