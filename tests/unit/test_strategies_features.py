"""Feature values against plain-Python definitions, and causality across chunk boundaries."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tradeops.strategies.features import Ohlcv, compute_feature


def _data(n: int, seed: int = 3) -> Ohlcv:
    rng = np.random.default_rng(seed)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.concatenate([close[:1], close[:-1]])
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    return Ohlcv(open_, high, low, close, rng.uniform(1, 10, n))


def _true_ranges(d: Ohlcv) -> list[float]:
    c = d.close
    return [float(d.high[0] - d.low[0])] + [
        max(d.high[k] - d.low[k], abs(d.high[k] - c[k - 1]), abs(d.low[k] - c[k - 1]))
        for k in range(1, len(c))
    ]


def _ema(c: list[float], n: int, i: int) -> float:
    value = sum(c[:n]) / n
    alpha = 2 / (n + 1)
    for price in c[n : i + 1]:
        value = alpha * price + (1 - alpha) * value
    return value


def _log_return_std(c: list[float], n: int, i: int) -> float:
    return float(np.std([math.log(c[k] / c[k - 1]) for k in range(i - n + 1, i + 1)], ddof=1))


def _zscore(window: list[float]) -> float:
    return (window[-1] - sum(window) / len(window)) / float(np.std(window))


# name -> (bars needed before index i is defined minus one, definition at index i)
DEFINITIONS = {
    "sma": (0, lambda d, c, n, i: sum(c[i - n + 1 : i + 1]) / n),
    "std": (0, lambda d, c, n, i: float(np.std(c[i - n + 1 : i + 1]))),
    "zscore": (0, lambda d, c, n, i: _zscore(c[i - n + 1 : i + 1])),
    "momentum": (1, lambda d, c, n, i: c[i] / c[i - n] - 1),
    "highest": (1, lambda d, c, n, i: max(d.high[i - n : i])),
    "lowest": (1, lambda d, c, n, i: min(d.low[i - n : i])),
    "atr": (0, lambda d, c, n, i: sum(_true_ranges(d)[i - n + 1 : i + 1]) / n),
    "volatility": (
        1,
        lambda d, c, n, i: float(
            np.std([math.log(c[k] / c[k - 1]) for k in range(i - n + 1, i + 1)], ddof=1)
        ),
    ),
    "dollar_volume": (0, lambda d, c, n, i: sum(c[k] * d.volume[k] for k in range(i - n + 1, i + 1)) / n),
    "ema": (0, lambda d, c, n, i: _ema(c, n, i)),
}


def _naive(name: str, d: Ohlcv, n: int, i: int) -> float:
    extra, definition = DEFINITIONS[name]
    if i < n - 1 + extra:
        return math.nan
    return float(definition(d, d.close.tolist(), n, i))


NAMES = sorted(DEFINITIONS)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n", [1, 2, 5, 13])
def test_matches_plain_definition(name: str, n: int) -> None:
    d = _data(60)
    values = compute_feature(name, (n,), d)
    if n == 1 and name in ("zscore", "volatility"):
        assert np.isnan(values).all()  # one value has no spread
        return
    for i in range(60):
        expected = _naive(name, d, n, i)
        if math.isnan(expected):
            assert math.isnan(values[i]), (name, n, i)
        else:
            assert values[i] == pytest.approx(expected, rel=1e-9, abs=1e-12), (name, n, i)


@pytest.mark.parametrize("name", ["sma", "zscore", "atr", "highest", "volatility", "dollar_volume"])
def test_causal_across_internal_chunks(name: str) -> None:
    d = _data(20_000)
    full = compute_feature(name, (96,), d)
    for end in (8_000, 8_300, 16_500):
        part = Ohlcv(d.open[:end], d.high[:end], d.low[:end], d.close[:end], d.volume[:end])
        np.testing.assert_array_equal(compute_feature(name, (96,), part), full[:end])


def test_flat_window_has_no_zscore() -> None:
    close = np.full(30, 0.1)
    d = Ohlcv(close, close, close, close, np.ones(30))
    assert np.isnan(compute_feature("zscore", (10,), d)).all()


def test_unknown_feature_and_bad_window_are_rejected() -> None:
    d = _data(10)
    with pytest.raises(ValueError, match="unknown feature"):
        compute_feature("rsi", (14,), d)
    with pytest.raises(ValueError, match="positive integer"):
        compute_feature("sma", (2.5,), d)
    with pytest.raises(ValueError, match="takes 1 parameter"):
        compute_feature("sma", (2, 3), d)
