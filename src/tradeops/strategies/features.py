"""Causal indicators computed with numpy over a whole series at once.

Every function returns an array as long as its input whose value at index ``i`` depends only on
bars ``0..i`` (NaN while history is too short), so the runtime can compute it once over the stored
series and read it by index as bars are revealed. Rolling windows are evaluated row by row over a
sliding view, so a value never depends on how much of the series exists after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
_CHUNK_ROWS = 8192  # bounds the temporary memory of row-wise window statistics


@dataclass(frozen=True, slots=True)
class Ohlcv:
    """The price and volume columns a feature may read (equal lengths, float64)."""

    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray


def _window(n: float) -> int:
    size = int(n)
    if size != n or size <= 0:
        raise ValueError(f"feature window must be a positive integer, got {n!r}")
    return size


def _empty_like(x: FloatArray) -> FloatArray:
    return np.full(x.shape[0], np.nan, dtype=np.float64)


def _rowwise(x: FloatArray, n: int, reducer: Callable[[FloatArray], FloatArray]) -> FloatArray:
    """Apply `reducer` to every full window of `n` values ending at each index."""
    out = _empty_like(x)
    if x.shape[0] < n:
        return out
    windows = sliding_window_view(x, n)
    for start in range(0, windows.shape[0], _CHUNK_ROWS):
        block = windows[start : start + _CHUNK_ROWS]
        out[start + n - 1 : start + n - 1 + block.shape[0]] = reducer(block)
    return out


def rolling_mean(x: FloatArray, n: int) -> FloatArray:
    return _rowwise(x, n, lambda w: w.mean(axis=1))


def rolling_std(x: FloatArray, n: int, ddof: int = 0) -> FloatArray:
    if n <= ddof:
        return _empty_like(x)
    return _rowwise(x, n, lambda w: w.std(axis=1, ddof=ddof))


def sma(data: Ohlcv, n: float) -> FloatArray:
    """Simple moving average of close over `n` bars."""
    return rolling_mean(data.close, _window(n))


def ema(data: Ohlcv, n: float) -> FloatArray:
    """Exponential moving average of close, alpha 2/(n+1), seeded with the SMA of the first n bars."""
    size = _window(n)
    close = data.close
    out = _empty_like(close)
    if close.shape[0] < size:
        return out
    alpha = 2.0 / (size + 1.0)
    value = float(close[:size].mean())
    out[size - 1] = value
    keep = 1.0 - alpha
    values = close[size:].tolist()
    smoothed = []
    for price in values:
        value = alpha * price + keep * value
        smoothed.append(value)
    out[size:] = smoothed
    return out


def std(data: Ohlcv, n: float) -> FloatArray:
    """Population standard deviation of close over `n` bars."""
    return rolling_std(data.close, _window(n))


def zscore(data: Ohlcv, n: float) -> FloatArray:
    """(close - mean) / std over the last `n` closes (current bar included); NaN when std is 0."""
    size = _window(n)
    mean = rolling_mean(data.close, size)
    dev = rolling_std(data.close, size)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (data.close - mean) / dev
    # A flat window has no meaningful z-score (and rounding leaves a tiny non-zero std).
    out[~(dev > 1e-9 * np.abs(mean))] = np.nan
    return out


def true_range(data: Ohlcv) -> FloatArray:
    tr = data.high - data.low
    if tr.shape[0] > 1:
        prev = data.close[:-1]
        tr[1:] = np.maximum.reduce([tr[1:], np.abs(data.high[1:] - prev), np.abs(data.low[1:] - prev)])
    return tr


def atr(data: Ohlcv, n: float) -> FloatArray:
    """Average true range: mean of the true range over `n` bars."""
    return rolling_mean(true_range(data), _window(n))


def _previous_extreme(x: FloatArray, n: int, take_max: bool) -> FloatArray:
    out = _empty_like(x)
    if x.shape[0] <= n:
        return out
    windows = sliding_window_view(x[:-1], n)
    out[n:] = windows.max(axis=1) if take_max else windows.min(axis=1)
    return out


def highest(data: Ohlcv, n: float) -> FloatArray:
    """Highest high of the PREVIOUS `n` bars (the current bar excluded): the breakout level."""
    return _previous_extreme(data.high, _window(n), take_max=True)


def lowest(data: Ohlcv, n: float) -> FloatArray:
    """Lowest low of the PREVIOUS `n` bars (the current bar excluded)."""
    return _previous_extreme(data.low, _window(n), take_max=False)


def max_close(data: Ohlcv, n: float) -> FloatArray:
    """Highest close of the last `n` bars (the current one included); NaN if any of them is NaN.

    By doubling spans (O(len x log n), for windows of thousands of bars): the maximum of two
    overlapping spans that cover the window. A maximum picks one of the values, so this equals
    the window's own maximum (a zero may come out as -0.0 where the window holds both)."""
    size = _window(n)
    close = data.close
    out = _empty_like(close)
    if close.shape[0] < size:
        return out
    spans, span = close.copy(), 1
    while 2 * span <= size:
        spans[span:] = np.maximum(spans[span:], spans[:-span])  # the right side is read first
        span *= 2
    rest = size - span
    out[size - 1 :] = np.maximum(spans[size - 1 :], spans[size - 1 - rest : close.shape[0] - rest])
    return out


def momentum(data: Ohlcv, n: float) -> FloatArray:
    """close / close `n` bars ago - 1."""
    size = _window(n)
    close = data.close
    out = _empty_like(close)
    if close.shape[0] > size:
        out[size:] = close[size:] / close[:-size] - 1.0
    return out


def log_returns(close: FloatArray) -> FloatArray:
    out = _empty_like(close)
    if close.shape[0] > 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            out[1:] = np.log(close[1:] / close[:-1])
    return out


def volatility(data: Ohlcv, n: float) -> FloatArray:
    """Realised volatility per bar: sample std of the last `n` log returns (needs n+1 closes)."""
    size = _window(n)
    returns = log_returns(data.close)
    out = _empty_like(returns)
    if returns.shape[0] > size:
        out[1:] = rolling_std(returns[1:], size, ddof=1)
    return out


def dollar_volume(data: Ohlcv, n: float) -> FloatArray:
    """Average traded value (close x volume) over `n` bars."""
    return rolling_mean(data.close * data.volume, _window(n))


def breakout_entry(
    data: Ohlcv,
    lookback: float,
    fast: float,
    slow: float,
    momentum_window: float,
    min_trend: float,
    min_momentum: float,
) -> FloatArray:
    """1.0 where close >= highest(lookback) and sma(fast)/sma(slow) - 1 >= min_trend and
    momentum(momentum_window) >= min_momentum, else 0.0 (also while history is short).

    One lookup answers daily_trend's entry test, which fails on almost every bar."""
    with np.errstate(invalid="ignore", divide="ignore"):
        trend = sma(data, fast) / sma(data, slow) - 1.0
        ok = (
            (data.close >= highest(data, lookback))
            & (trend >= min_trend)
            & (momentum(data, momentum_window) >= min_momentum)
        )
    return ok.astype(np.float64)


def trend_hold_atr(data: Ohlcv, fast: float, slow: float, lookback: float, atr_window: float) -> FloatArray:
    """atr(atr_window) where sma(fast)/sma(slow) - 1 >= 0 and close > lowest(lookback), else NaN:
    daily_trend's exit test without the trailing stop (which depends on the holding)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        trend = sma(data, fast) / sma(data, slow) - 1.0
        hold = (trend >= 0.0) & (data.close > lowest(data, lookback))
    return np.where(hold, atr(data, atr_window), np.nan)


_Feature = Callable[..., FloatArray]
FEATURES: dict[str, tuple[int, _Feature]] = {
    "sma": (1, sma),
    "ema": (1, ema),
    "std": (1, std),
    "zscore": (1, zscore),
    "atr": (1, atr),
    "highest": (1, highest),
    "lowest": (1, lowest),
    "momentum": (1, momentum),
    "max_close": (1, max_close),
    "volatility": (1, volatility),
    "dollar_volume": (1, dollar_volume),
    "breakout_entry": (6, breakout_entry),
    "trend_hold_atr": (4, trend_hold_atr),
}


def compute_feature(name: str, params: tuple[float, ...], data: Ohlcv) -> FloatArray:
    """Compute feature `name` with `params` over the whole series."""
    try:
        arity, function = FEATURES[name]
    except KeyError:
        raise ValueError(f"unknown feature {name!r}; known: {', '.join(sorted(FEATURES))}") from None
    if len(params) != arity:
        raise ValueError(f"feature {name!r} takes {arity} parameter(s), got {params!r}")
    return function(data, *params)
