"""StoreView's batch reads (`features`, `quotes`) against one `feature` / `quote` call per
instrument, bit for bit, while bars are revealed, appended live, replaced and quoted explicitly;
and the timeline's next reveal time against the hidden bars."""

from __future__ import annotations

import math
import struct

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeops.domain.market import Bar, Quote
from tradeops.marketdata.series import CandleSeries
from tradeops.marketdata.series_store import SeriesStore
from tradeops.strategies.base import MarketView

START = 1_700_000_100_000
STEP = 300_000
VENUES = ("binance", "bybit")
SYMBOLS = ("S0", "S1", "S2", "NONE")  # NONE is never stored
FEATURES = (("sma", (3.0,)), ("zscore", (4.0,)), ("breakout_entry", (3.0, 2.0, 4.0, 2.0, 0.0, 0.0)))


def _bits(value: object) -> object:
    return struct.pack("<d", value) if isinstance(value, float) else value


def _quote_bits(quote: Quote | None) -> object:
    return None if quote is None else [_bits(x) for x in quote]


def _check(view: MarketView, venues: tuple[str, ...], symbols: tuple[str, ...]) -> None:
    for name, params in FEATURES:
        batch = view.features(venues, symbols, name, *params)
        single = [view.feature(v, s, name, *params) for v in venues for s in symbols]
        assert list(map(_bits, batch)) == list(map(_bits, single))
        assert list(map(_bits, view.features(list(venues), list(symbols), name, *params))) == list(
            map(_bits, single)
        )
    for venue in venues:
        batch_quotes = view.quotes(venue, symbols)
        assert [_quote_bits(q) for q in batch_quotes] == [_quote_bits(view.quote(venue, s)) for s in symbols]


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 1_300), min_size=len(VENUES) * 3, max_size=len(VENUES) * 3),
    actions=st.lists(
        st.tuples(st.sampled_from(["advance", "append", "quote", "add"]), st.integers(0, 400)),
        min_size=1,
        max_size=14,
    ),
    explicit=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_batch_reads_equal_the_per_instrument_reads(
    sizes: list[int], actions: list[tuple[str, int]], explicit: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    store = SeriesStore()
    for k, size in enumerate(sizes):
        if size == 0:
            continue  # an instrument some venue does not have
        closes = rng.uniform(1.0, 100.0, size)
        closes[rng.random(size) < 0.02] = math.nan
        venue, symbol = VENUES[k % len(VENUES)], SYMBOLS[k // len(VENUES)]
        candles = CandleSeries.from_closes(closes, symbol=symbol, venue=venue, start_ms=START + 7_000 * k)
        store.add_candles(candles, half_spread_bps=float(k))
    now, appended = START, 0
    for action, amount in actions:
        stale = store.view()
        if action == "advance":
            now += amount * STEP // 3
            store.advance_to(now)
            hidden = [
                int(ts) + STEP
                for v, s in store.instruments()
                for ts in store.loaded(v, s)[0][store.bar_count(v, s) :]
            ]
            assert store.next_reveal_ms() == (min(hidden) if hidden else None)
        elif action in ("append", "add"):
            venue, symbol = VENUES[amount % 2], "LIVE" if action == "add" else SYMBOLS[amount % 3]
            stored = store.loaded(venue, symbol)[0]
            if store.bar_count(venue, symbol) == len(stored):  # nothing hidden: live bars may follow
                last = int(stored[-1]) if len(stored) else START - STEP
                ts = last if amount % 2 and len(stored) else last + STEP  # replace the last bar or add one
                price = float(rng.uniform(1.0, 100.0))
                store.append(Bar(venue, symbol, ts, price, price, price, price, 2.0), STEP)
                appended += 1
        elif explicit:  # explicit quotes switch quotes() to its general path: only in some runs
            price = float(rng.uniform(1.0, 100.0))
            store.set_quote(
                Quote(VENUES[amount % 2], SYMBOLS[amount % 4], now + amount - 200, price, price, 1.0, 1.0)
            )
        for view in (store.view(), stale, store.view()):  # the second read hits the quote blocks
            _check(view, VENUES, SYMBOLS)
            _check(view, VENUES[:1], (*SYMBOLS, "LIVE"))


def test_a_group_sees_an_instrument_added_after_it_was_bound() -> None:
    store = SeriesStore()
    view = store.view()
    assert math.isnan(view.features(VENUES, ("S0",), "sma", 1.0)[0])
    store.append(Bar("binance", "S0", START, 5.0, 5.0, 5.0, 5.0, 1.0), STEP)
    assert store.view().features(VENUES, ("S0",), "sma", 1.0)[0] == 5.0
    assert store.view().quotes("binance", ("S0", "S1"))[0] is not None


def test_views_are_shared_while_the_time_stands_still() -> None:
    store = SeriesStore()
    store.add_candles(CandleSeries.from_closes([1.0, 2.0, 3.0], symbol="S0", start_ms=START))
    store.advance_to(START + STEP)
    first = store.view()
    assert store.view() is first
    store.advance_to(START + 2 * STEP)
    later = store.view()
    assert later is not first and (first.now_ms, later.now_ms) == (START + STEP, START + 2 * STEP)
