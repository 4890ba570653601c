"""The simulator's accounts move by exactly what it reports (regression: balances drifted from the
trades by fractions of a cent because trades were booked at off-tick prices with unrounded
commissions while reported with 8 decimals, so a live account's reconcile saw `balance_mismatch`
on USDT after a few sells)."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tradeops.domain.trading import OrderType, Side
from tradeops.exchanges.paper.matching import MatchModel
from tradeops.exchanges.sim.book import Account, Balance, Book
from tradeops.exchanges.sim.errors import SimError
from tradeops.exchanges.sim.market import Filters, SimMarket, SymbolMarket
from tradeops.exchanges.sim.public import num

NOW = 1_796_000_000_000
START = {"BTC": Decimal(5), "USDT": Decimal(500_000)}


def _book(prices: list[Decimal]) -> tuple[Book, Account]:
    filters = Filters.for_price(float(prices[0]), Decimal(5))
    rows = [
        (NOW + i * 60_000, p, p * Decimal("1.002"), p * Decimal("0.998"), p, Decimal(50))
        for i, p in enumerate(prices)
    ]
    rows = [(ts, *(v.quantize(filters.tick) for v in r[:4]), vol) for ts, *r, vol in rows]
    market = SymbolMarket("BTC/USDT", "BTC", "USDT", "1m", 60_000, rows, filters)
    sim = SimMarket({market.market_id: market}, cursor=0, _length=len(rows))
    book = Book(
        sim, MatchModel(Decimal("0.001"), Decimal("0.001"), Decimal("0.00037"), Decimal("0.1"), Decimal(0))
    )
    account = Account("key", "secret", {a: Balance(free=v) for a, v in START.items()})
    book.accounts[account.api_key] = account
    return book, account


orders = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(min_value=11, max_value=4_000),  # quantity in steps of 0.00001 BTC
        st.sampled_from([None, "-0.003", "0.003"]),  # market, or a limit below/above the last price
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(
    orders,
    st.lists(
        st.decimals(min_value=Decimal("60000.013"), max_value=Decimal("99999.977"), places=3),
        min_size=30,
        max_size=30,
    ),
)
def test_balances_equal_the_opening_plus_the_reported_trades(plan, prices):
    book, account = _book(prices)
    market = next(iter(book.market.symbols.values()))
    for n, (side, steps, offset) in enumerate(plan):
        last = book.market.last(market.market_id)
        price = None if offset is None else (last * (1 + Decimal(offset))).quantize(market.filters.tick)
        kind = OrderType.MARKET if price is None else OrderType.LIMIT
        with contextlib.suppress(SimError):  # a filter or balance refusal moves nothing
            book.place(account, market, side, kind, Decimal(steps) * market.filters.step, price, f"c{n}", NOW)
        if book.market.advance():
            book.on_bar(NOW)
    # What a client sees: every trade as reported (8-decimal strings), the commission in its asset.
    moved: defaultdict[str, Decimal] = defaultdict(Decimal)
    for trade in book.trades:
        qty, price = Decimal(num(trade.qty)), Decimal(num(trade.price))
        sign = 1 if trade.order.side is Side.BUY else -1
        moved["BTC"] += sign * qty
        moved["USDT"] -= sign * qty * price
        moved[trade.commission_asset] -= Decimal(num(trade.commission))
        assert trade.price % market.filters.tick == 0  # a real book trades on the tick
    for asset, opening in START.items():
        balance = account.balance(asset)
        assert balance.free + balance.locked == opening + moved[asset], asset
