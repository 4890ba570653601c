"""SeriesStore's reveal timeline and feature reads against direct computations, bit for bit,
while preloaded bars are revealed, live bars appended or replaced and instruments added late;
views are shared while the store's time stands still; history stays read-only."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeops.domain.market import Bar
from tradeops.marketdata.series import CandleSeries
from tradeops.marketdata.series_store import SeriesStore
from tradeops.strategies.features import Ohlcv, compute_feature

START = 1_700_000_100_000
STEP = 300_000
VENUES = ("binance", "bybit")
SYMBOLS = ("S0", "S1", "S2")
FEATURES = (("sma", (3.0,)), ("zscore", (4.0,)), ("breakout_entry", (3.0, 2.0, 4.0, 2.0, 0.0, 0.0)))


def _bits(value: float) -> bytes:
    return struct.pack("<d", value)


def _check(store: SeriesStore) -> None:
    """Every instrument's features (and an unknown one's) against a direct computation."""
    view = store.view()
    for venue, symbol in [*store.instruments(), ("kraken", "S0")]:
        columns = store.loaded(venue, symbol)[1]
        visible = store.bar_count(venue, symbol)
        for name, params in FEATURES:
            value = view.feature(venue, symbol, name, *params)
            if visible == 0:
                assert math.isnan(value)
                continue
            data = Ohlcv(*(columns[f] for f in ("open", "high", "low", "close", "volume")))
            assert _bits(value) == _bits(float(compute_feature(name, params, data)[visible - 1]))
        tail = columns["close"][max(0, visible - 3) : visible].tolist() if visible else []
        assert [_bits(float(x)) for x in view.history(venue, symbol, "close", 3)] == list(map(_bits, tail))


@settings(max_examples=50, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 1_300), min_size=len(VENUES) * len(SYMBOLS), max_size=6),
    actions=st.lists(
        st.tuples(st.sampled_from(["advance", "append", "add"]), st.integers(0, 400)), min_size=1, max_size=14
    ),
    seed=st.integers(0, 2**16),
)
def test_reveals_and_feature_reads_match_a_direct_computation(
    sizes: list[int], actions: list[tuple[str, int]], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    store = SeriesStore()
    for k, size in enumerate(sizes):
        if size == 0:
            continue  # an instrument some venue does not have
        closes = rng.uniform(1.0, 100.0, size)
        closes[rng.random(size) < 0.02] = math.nan
        venue, symbol = VENUES[k % len(VENUES)], SYMBOLS[k // len(VENUES)]
        store.add_candles(
            CandleSeries.from_closes(closes, symbol=symbol, venue=venue, start_ms=START + 7_000 * k)
        )
    now = START
    for action, amount in actions:
        if action == "advance":
            now += amount * STEP // 3
            before = {key: store.bar_count(*key) for key in store.instruments()}
            revealed = store.advance_to(now)
            assert [b.ts + STEP for b in revealed] == sorted(b.ts + STEP for b in revealed)
            assert all(b.ts + STEP <= now for b in revealed)
            assert len(revealed) == sum(store.bar_count(*key) - n for key, n in before.items())
        else:
            venue, symbol = VENUES[amount % 2], "LIVE" if action == "add" else SYMBOLS[amount % 3]
            stored = store.loaded(venue, symbol)[0]
            if store.bar_count(venue, symbol) == len(stored):  # nothing hidden: live bars may follow
                last = int(stored[-1]) if len(stored) else START - STEP
                ts = last if amount % 2 and len(stored) else last + STEP  # replace the last bar or add one
                price = float(rng.uniform(1.0, 100.0))
                store.append(Bar(venue, symbol, ts, price, price, price, price, 2.0), STEP)
        hidden = [
            int(ts) + STEP
            for v, s in store.instruments()
            for ts in store.loaded(v, s)[0][store.bar_count(v, s) :]
        ]
        assert store.next_reveal_ms() == (min(hidden) if hidden else None)
        _check(store)


def test_views_are_shared_while_the_time_stands_still() -> None:
    store = SeriesStore()
    store.add_candles(CandleSeries.from_closes([1.0, 2.0, 3.0], symbol="S0", start_ms=START))
    store.advance_to(START + STEP)
    first = store.view()
    assert store.view() is first
    store.advance_to(START + 2 * STEP)
    later = store.view()
    assert later is not first and (first.now_ms, later.now_ms) == (START + STEP, START + 2 * STEP)
    store.advance_to(START)  # time never runs backwards: the same view
    assert store.view() is later


def test_history_of_live_bars_is_read_only_too() -> None:
    store = SeriesStore()
    store.add_candles(CandleSeries.from_closes([1.0, 2.0], symbol="S0", start_ms=START))
    store.advance_to(START + 2 * STEP)
    store.append(Bar("binance", "S0", START + 2 * STEP, 3.0, 3.0, 3.0, 3.0, 1.0), STEP)  # now live storage
    history = store.view().history("binance", "S0", "close", 5)
    assert list(history) == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="read-only"):
        history[0] = 9.0  # type: ignore[index]
