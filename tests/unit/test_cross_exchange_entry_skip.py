"""cross_exchange's precomputed entry skip (StoreView.entry_skip) agrees with the per-quote test."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeops.config.models import CrossExchangeParams
from tradeops.domain.market import Bar, Quote
from tradeops.marketdata.series_store import SeriesStore
from tradeops.marketdata.store_view import StoreView
from tradeops.strategies.base import Holding, MarketView
from tradeops.strategies.cross_exchange import CrossExchangeStrategy

SYMBOL = "BTC/USDT"
STEP = 300_000
START = 1_700_000_000_000
PARAMS = CrossExchangeParams(spread_entry=0.002)
PRICES = st.one_of(
    st.floats(99.0, 101.0),
    st.sampled_from([0.0, -1.0, math.nan, math.inf, 100.0]),
)


class ExactView:
    """The same reads with an `entry_skip` that never knows: the strategy takes its exact
    per-quote path."""

    def __init__(self, view: MarketView) -> None:
        self._view = view
        self.now_ms = view.now_ms
        self.quote = view.quote

    def entry_skip(self, primary: str, secondary: str, symbol: str, entry: float) -> bool:
        return False


def _bound_fails(view: MarketView, entry: float) -> bool | None:
    """The strategy's flat bound on the quotes the view gives (None: a quote is missing)."""
    a, b = view.quote("binance", SYMBOL), view.quote("bybit", SYMBOL)
    if a is None or b is None:
        return None
    bound = entry * a.ask
    return b.bid - a.ask < bound and a.bid - b.ask < bound


def _add(store: SeriesStore, venue: str, offset: int, closes: list[float], bps: float) -> None:
    ts = START + STEP * (offset + np.arange(len(closes), dtype=np.int64))
    close = np.asarray(closes, dtype=np.float64)
    volume = np.ones(len(closes))
    store.add_series(venue, SYMBOL, STEP, ts, close, close, close, close, volume, bps)


def _check(store: SeriesStore, explicit: bool, aligned: bool) -> None:
    view = store.view()
    assert isinstance(view, StoreView)
    entry = PARAMS.spread_entry
    exact = _bound_fails(view, entry)
    if view.entry_skip("binance", "bybit", SYMBOL, entry):
        assert exact is True  # a skip only where the exact test skips too
    strategy = CrossExchangeStrategy(PARAMS)
    flat: dict[tuple[str, str], Holding] = {}
    fast = strategy.decide(view, ["binance", "bybit"], [SYMBOL], flat)
    slow = strategy.decide(ExactView(view), ["binance", "bybit"], [SYMBOL], flat)  # type: ignore[arg-type]
    assert repr(fast) == repr(slow)
    if aligned and not explicit and exact is not None:  # the same bars' synthesised quotes: exact
        assert view.entry_skip("binance", "bybit", SYMBOL, entry) == exact


@settings(max_examples=150, deadline=None)
@given(
    first=st.lists(PRICES, min_size=1, max_size=12),
    second=st.lists(PRICES, min_size=0, max_size=12),
    offset=st.integers(-3, 3),
    bps=st.tuples(st.sampled_from([0.0, 1.0, 2.5]), st.sampled_from([0.0, 1.0, 7.0])),
    quotes=st.dictionaries(
        st.integers(0, 15), st.tuples(st.sampled_from(["binance", "bybit"]), PRICES, PRICES)
    ),
    replace=st.one_of(st.none(), PRICES),
)
def test_entry_skip_agrees_with_the_per_quote_test(
    first: list[float],
    second: list[float],
    offset: int,
    bps: tuple[float, float],
    quotes: dict[int, tuple[str, float, float]],
    replace: float | None,
) -> None:
    store = SeriesStore()
    _add(store, "binance", 0, first, bps[0])
    if second:
        _add(store, "bybit", offset, second, bps[1])
    explicit = False
    aligned = offset == 0 and len(first) == len(second)
    for k in range(-3, 16):
        now = START + STEP * k + (STEP if k % 2 else STEP // 2)  # bar closes and mid-bar times
        store.advance_to(now)
        if k in quotes:
            venue, bid, ask = quotes[k]
            store.set_quote(Quote(venue, SYMBOL, now, bid, ask, 1.0, 1.0))
            explicit = True
        _check(store, explicit, aligned)
    if replace is not None and not explicit:  # a live bar replacing a preloaded row stales its flag
        last = START + STEP * (len(first) - 1)
        store.append(Bar("binance", SYMBOL, last, replace, replace, replace, replace, 1.0), STEP)
        _check(store, explicit, aligned=False)  # the replaced row falls back to the exact path
