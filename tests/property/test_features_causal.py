"""Every feature is causal: its value at bar i is the same whether or not later bars exist."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeops.strategies.features import FEATURES, Ohlcv, compute_feature

returns = st.lists(st.floats(min_value=-0.05, max_value=0.05, allow_nan=False), min_size=2, max_size=160)


def _ohlcv(rets: list[float], spread: float, volume_seed: int) -> Ohlcv:
    close = 100.0 * np.exp(np.cumsum(rets))
    open_ = np.concatenate([close[:1], close[:-1]])
    volume = np.random.default_rng(volume_seed).uniform(0.0, 50.0, close.shape[0])
    return Ohlcv(
        open_,
        np.maximum(open_, close) * (1 + spread),
        np.minimum(open_, close) * (1 - spread),
        close,
        volume,
    )


def _truncated(data: Ohlcv, end: int) -> Ohlcv:
    return Ohlcv(data.open[:end], data.high[:end], data.low[:end], data.close[:end], data.volume[:end])


WINDOWED = sorted(name for name, (arity, _) in FEATURES.items() if arity == 1)


@pytest.mark.parametrize("name", WINDOWED)
@settings(max_examples=60, deadline=None)
@given(
    rets=returns,
    window=st.integers(min_value=1, max_value=40),
    spread=st.floats(min_value=0.0, max_value=0.02),
    cut=st.floats(min_value=0.0, max_value=1.0),
    volume_seed=st.integers(min_value=0, max_value=1000),
)
def test_value_at_i_does_not_depend_on_later_bars(
    name: str, rets: list[float], window: int, spread: float, cut: float, volume_seed: int
) -> None:
    data = _ohlcv(rets, spread, volume_seed)
    full = compute_feature(name, (window,), data)
    assert full.shape == data.close.shape
    i = int(cut * (len(rets) - 1))
    partial = compute_feature(name, (window,), _truncated(data, i + 1))
    np.testing.assert_array_equal(partial, full[: i + 1])


@settings(max_examples=60, deadline=None)
@given(
    rets=returns,
    windows=st.tuples(*(st.integers(min_value=1, max_value=30) for _ in range(4))),
    min_trend=st.floats(-0.01, 0.01),
    min_momentum=st.floats(-0.01, 0.01),
    cut=st.floats(min_value=0.0, max_value=1.0),
)
def test_breakout_entry_is_causal_and_matches_its_parts(
    rets: list[float], windows: tuple[int, int, int, int], min_trend: float, min_momentum: float, cut: float
) -> None:
    data = _ohlcv(rets, 0.001, 0)
    lookback, fast, slow, mom = windows
    params = (lookback, fast, slow, mom, min_trend, min_momentum)
    full = compute_feature("breakout_entry", params, data)
    i = int(cut * (len(rets) - 1))
    np.testing.assert_array_equal(
        compute_feature("breakout_entry", params, _truncated(data, i + 1)), full[: i + 1]
    )
    high = compute_feature("highest", (lookback,), data)[i]
    trend = compute_feature("sma", (fast,), data)[i] / compute_feature("sma", (slow,), data)[i] - 1
    momentum = compute_feature("momentum", (mom,), data)[i]
    expected = data.close[i] >= high and trend >= min_trend and momentum >= min_momentum
    assert full[i] == float(expected)


@pytest.mark.parametrize("name", WINDOWED)
def test_nan_while_history_is_too_short(name: str) -> None:
    data = _ohlcv([0.01, -0.02, 0.015, 0.0, 0.01] * 4, 0.001, 1)
    values = compute_feature(name, (8,), data)
    assert np.isnan(values[0])
    assert np.isfinite(values[-1])
