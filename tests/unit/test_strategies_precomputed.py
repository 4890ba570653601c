"""The strategies' shortcuts against the per-call computations they replace: volatility_target's
inlined target weight, and daily_trend's precomputed hold test and the fast path that reads it."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeops.config.models import DailyTrendParams, VolatilityTargetParams
from tradeops.marketdata.series import CandleSeries
from tradeops.marketdata.series_store import SeriesStore
from tradeops.strategies.base import Holding, MarketView
from tradeops.strategies.daily_trend import DailyTrendStrategy
from tradeops.strategies.features import Ohlcv, compute_feature
from tradeops.strategies.volatility_target import VolatilityTargetStrategy

KEY = ("binance", "BTC/USDT")
# Log returns with runs of zeros, so flat windows (zero volatility, zero trend) occur too.
returns = st.lists(
    st.one_of(st.just(0.0), st.floats(min_value=-0.05, max_value=0.05, allow_nan=False)),
    min_size=1,
    max_size=70,
)


def _candles(steps: list[float]) -> CandleSeries:
    return CandleSeries.from_closes(100.0 * np.exp(np.cumsum(steps)))


def _views(candles: CandleSeries) -> Iterator[MarketView]:
    """The view after each bar, oldest first."""
    store = SeriesStore()
    store.add_candles(candles)
    for ts in candles.ts.tolist():
        store.advance_to(ts + candles.interval_ms)
        yield store.view()


@settings(max_examples=80, deadline=None)
@given(
    steps=returns,
    lookback=st.integers(2, 12),
    target=st.floats(0.01, 2.0),
    floor=st.floats(0.001, 0.5),
    allocation=st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)).map(sorted),
    current=st.one_of(st.none(), st.floats(0.0, 1.0)),
)
def test_volatility_target_decides_with_the_per_call_target_weight(
    steps: list[float],
    lookback: int,
    target: float,
    floor: float,
    allocation: list[float],
    current: float | None,
) -> None:
    params = VolatilityTargetParams(
        lookback=lookback,
        target_volatility=target,
        floor_volatility=floor,
        min_allocation=allocation[0],
        max_allocation=allocation[1],
        rebalance_threshold=0.05,
    )
    strategy = VolatilityTargetStrategy(params)
    holdings = {} if current is None else {KEY: Holding(*KEY, current, current, 1.0, 1, 1)}
    for view in _views(_candles(steps)):
        per_bar = view.feature(*KEY, "volatility", lookback)
        signals = strategy.decide(view, [KEY[0]], [KEY[1]], holdings)
        if math.isnan(per_bar):
            assert signals == []
            continue
        realised = per_bar * math.sqrt(params.bars_per_year)
        weight = strategy.target_weight(realised)
        held = current or 0.0
        rebalance = held != weight and not (weight > 0 and abs(weight - held) < 0.05 * weight)
        assert [s.legs[0].target_weight for s in signals] == ([weight] if rebalance else [])
        if signals:
            assert signals[0].metadata["realized_volatility"] == realised


@settings(max_examples=80, deadline=None)
@given(steps=returns, fast=st.integers(1, 5), slow=st.integers(1, 12), low=st.integers(1, 8))
def test_trend_hold_atr_is_the_per_call_test(steps: list[float], fast: int, slow: int, low: int) -> None:
    c = _candles(steps)
    data = Ohlcv(c.open, c.high, c.low, c.close, c.volume)
    got = compute_feature("trend_hold_atr", (fast, slow, low, 3), data).tolist()
    sma_fast = compute_feature("sma", (fast,), data).tolist()
    sma_slow = compute_feature("sma", (slow,), data).tolist()
    lowest = compute_feature("lowest", (low,), data).tolist()
    atr = compute_feature("atr", (3,), data).tolist()
    for i, close in enumerate(data.close.tolist()):
        if sma_fast[i] / sma_slow[i] - 1.0 >= 0.0 and close > lowest[i]:
            assert got[i] == atr[i] or (math.isnan(got[i]) and math.isnan(atr[i]))
        else:
            assert math.isnan(got[i])


@settings(max_examples=60, deadline=None)
@given(steps=returns, bars_held=st.integers(0, 8), avg_factor=st.sampled_from([0.0, 0.9, 1.0, 1.1]))
def test_daily_trend_keeps_a_holding_only_where_the_exit_test_gives_no_signal(
    steps: list[float], bars_held: int, avg_factor: float
) -> None:
    trend = DailyTrendStrategy(
        DailyTrendParams(fast_ma=2, slow_ma=5, breakout_lookback=4, momentum_window=2, atr_window=3)
    )
    for view in _views(_candles(steps)):
        held = Holding(*KEY, 1.0, 1.0, view.last(*KEY) * avg_factor, 1, bars_held)
        if trend._holds(view, *KEY, held, view.feature(*KEY, "trend_hold_atr", *trend._hold_test)):
            assert trend._exit(view, *KEY, held) is None


@settings(max_examples=80, deadline=None)
@given(
    closes=st.lists(
        st.one_of(st.floats(0.0, 50.0), st.just(0.0), st.just(-0.0), st.just(math.nan)),
        min_size=1,
        max_size=90,
    ),
    n=st.integers(1, 100),
)
def test_max_close_is_the_window_maximum(closes: list[float], n: int) -> None:
    data = Ohlcv(*([np.array(closes)] * 5))
    got = compute_feature("max_close", (n,), data).tolist()
    for i in range(len(closes)):
        window = closes[max(0, i - n + 1) : i + 1]
        if i < n - 1 or any(math.isnan(x) for x in window):
            assert math.isnan(got[i])
        else:
            assert got[i] == max(window)


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.one_of(st.just(0.0), st.floats(min_value=-0.03, max_value=0.03, allow_nan=False)),
        min_size=64,  # the cached bound needs 64 bars
        max_size=260,
    ),
    bars_held=st.integers(0, 200),
    avg_factor=st.sampled_from([0.0, 0.9, 1.0, 1.02, 1.1, 1.5]),
    multiplier=st.sampled_from([0.5, 2.0, 8.0]),
    nan_at=st.one_of(st.none(), st.integers(0, 259)),
)
def test_daily_trend_hold_test_equals_the_exact_trailing_stop_test(
    steps: list[float], bars_held: int, avg_factor: float, multiplier: float, nan_at: int | None
) -> None:
    """`_holds` reads a cached window maximum first; its answer is always the exact test's."""
    trend = DailyTrendStrategy(
        DailyTrendParams(
            fast_ma=2,
            slow_ma=5,
            breakout_lookback=4,
            momentum_window=2,
            atr_window=3,
            atr_multiplier=multiplier,
        )
    )
    closes = 100.0 * np.exp(np.cumsum(steps))
    if nan_at is not None and nan_at < closes.shape[0]:
        closes[nan_at] = math.nan
    for view in _views(CandleSeries.from_closes(closes)):
        atr = view.feature(*KEY, "atr", 3)
        close = view.last(*KEY)
        held = Holding(*KEY, 1.0, 1.0, close * avg_factor, 1, bars_held)
        exact = atr == atr and close > trend._stop(view, *KEY, held, close, atr)[1]
        assert trend._holds(view, *KEY, held, atr) == exact
