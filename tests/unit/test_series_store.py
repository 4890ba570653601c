"""SeriesStore: causal reveal, O(1) cached features, live appends and quotes."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeops.domain.market import Bar, Quote
from tradeops.marketdata.series import CandleSeries
from tradeops.marketdata.series_store import SeriesStore
from tradeops.strategies.features import Ohlcv, compute_feature

START = 1_700_000_100_000
STEP = 300_000


def _store(*series: CandleSeries, half_spread_bps: float = 0.0) -> SeriesStore:
    store = SeriesStore()
    for s in series:
        store.add_candles(s, half_spread_bps)
    return store


def _candles(closes: list[float], symbol: str = "BTC/USDT", venue: str = "binance") -> CandleSeries:
    return CandleSeries.from_closes(closes, symbol=symbol, venue=venue, start_ms=START)


def test_nothing_is_visible_before_a_bar_closes() -> None:
    store = _store(_candles([10.0, 11.0, 12.0]))
    assert store.next_reveal_ms() == START + STEP
    assert store.advance_to(START + STEP - 1) == []
    view = store.view()
    assert view.bar_count("binance", "BTC/USDT") == 0
    assert math.isnan(view.last("binance", "BTC/USDT"))
    assert store.last_bar("binance", "BTC/USDT") is None


def test_advance_reveals_closed_bars_in_time_order_across_instruments() -> None:
    store = _store(_candles([10.0, 11.0, 12.0]), _candles([1.0, 2.0, 3.0], symbol="ETH/USDT"))
    first = store.advance_to(START + STEP)
    assert [(b.symbol, b.close) for b in first] == [("BTC/USDT", 10.0), ("ETH/USDT", 1.0)]
    rest = store.advance_to(START + 3 * STEP + 5)
    assert [b.ts for b in rest] == sorted(b.ts for b in rest)
    assert [(b.symbol, b.close) for b in rest] == [
        ("BTC/USDT", 11.0),
        ("ETH/USDT", 2.0),
        ("BTC/USDT", 12.0),
        ("ETH/USDT", 3.0),
    ]
    assert store.next_reveal_ms() is None
    assert store.advance_to(START + 10 * STEP) == []
    assert store.view().now_ms == START + 10 * STEP
    assert store.bar_count("binance", "ETH/USDT") == 3


def test_features_read_the_last_visible_bar_only() -> None:
    closes = [float(x) for x in range(1, 21)]
    store = _store(_candles(closes))
    store.advance_to(START + 5 * STEP)  # bars 0..4 visible
    view = store.view()
    assert view.feature("binance", "BTC/USDT", "sma", 3) == pytest.approx((3 + 4 + 5) / 3)
    assert math.isnan(view.feature("binance", "BTC/USDT", "sma", 6))
    assert view.feature("binance", "BTC/USDT", "momentum", 2) == pytest.approx(5 / 3 - 1)
    store.advance_to(START + 20 * STEP)
    later = store.view()
    assert later.feature("binance", "BTC/USDT", "sma", 3) == pytest.approx(19.0)
    assert later.feature("binance", "BTC/USDT", "sma", 6) == pytest.approx((15 + 20) / 2)
    assert math.isnan(later.feature("binance", "ETH/USDT", "sma", 3))


def test_history_is_the_visible_tail_and_read_only() -> None:
    store = _store(_candles([1.0, 2.0, 3.0, 4.0, 5.0]))
    store.advance_to(START + 3 * STEP)
    history = store.view().history("binance", "BTC/USDT", "close", 10)
    assert list(history) == [1.0, 2.0, 3.0]
    assert list(store.view().history("binance", "BTC/USDT", "close", 2)) == [2.0, 3.0]
    with pytest.raises(ValueError, match="read-only"):
        history[0] = 99.0  # type: ignore[index]
    assert list(store.view().history("binance", "XRP/USDT", "close", 2)) == []


def test_live_appends_are_visible_at_once_and_refresh_features() -> None:
    store = SeriesStore()
    for i, close in enumerate([10.0, 20.0, 30.0]):
        store.append(Bar("bybit", "SOL/USDT", START + i * STEP, close, close, close, close, 1.0), STEP)
    view = store.view()
    assert view.bar_count("bybit", "SOL/USDT") == 3
    assert view.feature("bybit", "SOL/USDT", "sma", 3) == pytest.approx(20.0)
    store.append(Bar("bybit", "SOL/USDT", START + 3 * STEP, 40.0, 40.0, 40.0, 40.0, 1.0), STEP)
    assert view.feature("bybit", "SOL/USDT", "sma", 3) == pytest.approx(30.0)
    # An update of the still-forming bar replaces it.
    store.append(Bar("bybit", "SOL/USDT", START + 3 * STEP, 40.0, 70.0, 40.0, 70.0, 2.0), STEP)
    assert view.bar_count("bybit", "SOL/USDT") == 4
    assert view.feature("bybit", "SOL/USDT", "sma", 3) == pytest.approx(40.0)
    with pytest.raises(ValueError, match="older"):
        store.append(Bar("bybit", "SOL/USDT", START, 1.0, 1.0, 1.0, 1.0, 1.0), STEP)
    with pytest.raises(ValueError, match="interval"):
        store.append(Bar("bybit", "SOL/USDT", START + 9 * STEP, 1.0, 1.0, 1.0, 1.0, 1.0), 60_000)


def test_appending_after_preloaded_history_once_it_is_revealed() -> None:
    store = _store(_candles([1.0, 2.0]))
    with pytest.raises(ValueError, match="hidden"):
        store.append(Bar("binance", "BTC/USDT", START + 2 * STEP, 3.0, 3.0, 3.0, 3.0, 1.0), STEP)
    store.advance_to(START + 2 * STEP)
    store.append(Bar("binance", "BTC/USDT", START + 2 * STEP, 3.0, 3.0, 3.0, 3.0, 1.0), STEP)
    assert list(store.view().history("binance", "BTC/USDT", "close", 5)) == [1.0, 2.0, 3.0]
    assert store.view().feature("binance", "BTC/USDT", "sma", 3) == pytest.approx(2.0)


def test_quote_is_synthesised_from_the_last_close_with_half_spread() -> None:
    store = _store(_candles([100.0, 200.0]), half_spread_bps=10.0)
    assert store.view().quote("binance", "BTC/USDT") is None
    store.advance_to(START + 2 * STEP)
    quote = store.view().quote("binance", "BTC/USDT")
    assert quote is not None
    assert (quote.bid, quote.ask) == (pytest.approx(199.8), pytest.approx(200.2))
    assert quote.ts == START + 2 * STEP  # as of the bar's close


def test_explicit_quote_wins_until_a_newer_bar_closes() -> None:
    store = _store(_candles([100.0, 200.0, 300.0]))
    store.advance_to(START + STEP)
    store.set_quote(Quote("binance", "BTC/USDT", START + STEP + 1_000, 101.0, 102.0, 1.0, 1.0))
    quote = store.view().quote("binance", "BTC/USDT")
    assert quote is not None and quote.bid == 101.0
    store.advance_to(START + 2 * STEP)
    newer_bar = store.view().quote("binance", "BTC/USDT")
    assert newer_bar is not None and newer_bar.bid == 200.0
    assert store.view().quote("kraken", "BTC/USDT") is None


def test_unknown_instruments_read_as_empty() -> None:
    view = SeriesStore().view()
    assert view.bar_count("x", "y") == 0
    assert math.isnan(view.feature("x", "y", "sma", 3))
    assert view.quote("x", "y") is None
    with pytest.raises(KeyError):
        SeriesStore().interval_ms("x", "y")


def test_add_series_validates_its_arrays() -> None:
    store = SeriesStore()
    ts = np.array([3, 2, 1], dtype=np.int64) * STEP
    prices = np.ones(3)
    with pytest.raises(ValueError, match="increase"):
        store.add_series("binance", "BTC/USDT", STEP, ts, prices, prices, prices, prices, prices)
    with pytest.raises(ValueError, match="equal lengths"):
        store.add_series("binance", "BTC/USDT", STEP, ts[:2], prices, prices, prices, prices, prices)
    store.add_candles(_candles([1.0]))
    with pytest.raises(ValueError, match="already loaded"):
        store.add_candles(_candles([1.0]))
    assert store.instruments() == [("binance", "BTC/USDT")]
    assert store.interval_ms("binance", "BTC/USDT") == STEP


def test_series_added_after_replay_started_join_the_timeline() -> None:
    store = _store(_candles([1.0, 2.0, 3.0]))
    store.advance_to(START + STEP)
    store.add_candles(_candles([5.0, 6.0, 7.0], symbol="ETH/USDT"))
    revealed = store.advance_to(START + 2 * STEP)
    assert sorted((b.symbol, b.close) for b in revealed) == [
        ("BTC/USDT", 2.0),
        ("ETH/USDT", 5.0),
        ("ETH/USDT", 6.0),
    ]


def test_a_replaced_preloaded_bar_quotes_its_new_close() -> None:
    store = _store(_candles([100.0, 200.0]), half_spread_bps=10.0)
    store.advance_to(START + 2 * STEP)
    assert store.view().quote("binance", "BTC/USDT") == Quote(
        "binance", "BTC/USDT", START + 2 * STEP, 200.0 * 0.999, 200.0 * 1.001, 100.0, 100.0
    )
    store.append(Bar("binance", "BTC/USDT", START + STEP, 200.0, 300.0, 200.0, 300.0, 5.0), STEP)
    quote = store.view().quote("binance", "BTC/USDT")
    assert quote is not None and (quote.bid, quote.ask_size) == (300.0 * 0.999, 5.0)
    assert store.view().bar_count("binance", "BTC/USDT") == 2
    assert store.view().feature("binance", "BTC/USDT", "sma", 2) == (100.0 + 300.0) / 2


def test_a_forming_bar_is_quoted_as_of_now_then_as_of_its_close() -> None:
    store = SeriesStore()
    store.advance_to(START + 1_000)
    store.append(Bar("bybit", "SOL/USDT", START, 10.0, 10.0, 10.0, 10.0, 1.0), STEP)
    forming = store.view().quote("bybit", "SOL/USDT")
    assert forming is not None and forming.ts == START + 1_000
    store.advance_to(START + STEP + 5)
    closed = store.view().quote("bybit", "SOL/USDT")
    assert closed is not None and closed.ts == START + STEP


def _expected_quote(candles: CandleSeries, row: int, now: int, half: float) -> Quote:
    bar_ts = int(candles.ts[row])
    close_ms = bar_ts + candles.interval_ms
    as_of = close_ms if now >= close_ms else (bar_ts if now < bar_ts else now)
    price, size = float(candles.close[row]), float(candles.volume[row])
    return Quote(candles.venue, candles.symbol, as_of, price * (1.0 - half), price * (1.0 + half), size, size)


def _bits(value: object) -> object:
    return struct.pack("<d", value) if isinstance(value, float) else value


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 2_500), min_size=1, max_size=3),
    steps=st.lists(st.integers(0, 700), min_size=1, max_size=12),
    half_spread_bps=st.sampled_from([0.0, 2.5, 10.0]),
    seed=st.integers(0, 2**16),
)
def test_replay_reads_match_a_direct_computation(
    sizes: list[int], steps: list[int], half_spread_bps: float, seed: int
) -> None:
    """Quotes (precomputed a block at a time), features and revealed bars equal the values computed
    directly from the rows, bit for bit, across block and chunk boundaries and for a stale view."""
    rng = np.random.default_rng(seed)
    series = []
    for k, size in enumerate(sizes):
        closes = rng.uniform(1.0, 1_000.0, size)
        closes[rng.random(size) < 0.02] = math.nan
        candles = CandleSeries.from_closes(
            closes, symbol=f"S{k}", start_ms=START + 60_000 * k, volume=rng.uniform(0.0, 9.0, size)
        )
        series.append(candles)
    store = _store(*series, half_spread_bps=half_spread_bps)
    half = half_spread_bps / 10_000.0
    sma = {
        s.symbol: compute_feature("sma", (3,), Ohlcv(s.open, s.high, s.low, s.close, s.volume))
        for s in series
    }
    now, seen = START, 0
    for step in steps:
        stale = store.view()
        now += step * STEP
        revealed = store.advance_to(now)
        seen += len(revealed)
        for bar in revealed:
            source = next(s for s in series if s.symbol == bar.symbol)
            row = int(np.searchsorted(source.ts, bar.ts))
            fields = (source.open, source.high, source.low, source.close, source.volume)
            expected = Bar(source.venue, source.symbol, int(source.ts[row]), *(float(f[row]) for f in fields))
            assert list(map(_bits, bar)) == list(map(_bits, expected)) and type(bar) is Bar
        view = store.view()
        for s in series:
            visible = int(np.searchsorted(s.ts + s.interval_ms, now, side="right"))
            assert view.bar_count(s.venue, s.symbol) == visible
            quote, old = view.quote(s.venue, s.symbol), stale.quote(s.venue, s.symbol)
            feature = view.feature(s.venue, s.symbol, "sma", 3)
            if visible == 0:
                assert quote is None and old is None and math.isnan(feature)
                continue
            assert quote is not None and old is not None and type(quote) is Quote
            assert list(map(_bits, quote)) == list(map(_bits, _expected_quote(s, visible - 1, now, half)))
            assert list(map(_bits, old)) == list(
                map(_bits, _expected_quote(s, visible - 1, stale.now_ms, half))
            )
            assert _bits(feature) == _bits(float(sma[s.symbol][visible - 1]))
    assert seen == sum(int(np.sum(s.ts + s.interval_ms <= now)) for s in series)
