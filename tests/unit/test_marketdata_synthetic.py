"""The synthetic market: deterministic, plausible, regimes and venue dislocations."""

from __future__ import annotations

import numpy as np
import pytest

from tradeops.marketdata.gaps import quality
from tradeops.marketdata.synthetic import synthetic_market

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


def test_same_seed_same_arrays_and_other_seed_other_arrays() -> None:
    a = synthetic_market(SYMBOLS, ["binance", "bybit"], 2000, seed=3)
    b = synthetic_market(SYMBOLS, ["binance", "bybit"], 2000, seed=3)
    c = synthetic_market(SYMBOLS, ["binance", "bybit"], 2000, seed=4)
    for x, y, z in zip(a, b, c, strict=True):
        for column in ("ts", "open", "high", "low", "close", "volume"):
            np.testing.assert_array_equal(getattr(x, column), getattr(y, column))
        assert not np.array_equal(x.close, z.close)


def test_a_symbol_path_does_not_depend_on_the_other_symbols_or_venues() -> None:
    alone = synthetic_market(["ETH/USDT"], ["binance"], 1500)[0]
    together = [s for s in synthetic_market(SYMBOLS, ["binance", "bybit"], 1500) if s.venue == "binance"]
    np.testing.assert_array_equal(alone.close, together[1].close)


def test_layout_time_and_candle_consistency() -> None:
    market = synthetic_market(SYMBOLS, ["binance", "bybit"], 3000, interval="5m")
    assert [(s.venue, s.symbol) for s in market] == [(v, s) for v in ("binance", "bybit") for s in SYMBOLS]
    for s in market:
        assert len(s) == 3000 and s.interval_ms == 300_000 and s.source == "synthetic"
        assert s.ts[0] % 300_000 == 0 and s.ts[0] <= 1_700_000_000_000
        assert quality(s).missing_bars == 0
        assert np.all(s.high >= np.maximum(s.open, s.close))
        assert np.all(s.low <= np.minimum(s.open, s.close))
        assert np.all(s.low > 0) and np.all(s.volume > 0)


@pytest.mark.parametrize(
    ("symbol", "low", "high"),
    [("BTC/USDT", 30_000, 60_000), ("ETH/USDT", 1_500, 3_000), ("SOL/USDT", 70, 140)],
)
def test_prices_are_plausible(symbol: str, low: float, high: float) -> None:
    (series,) = synthetic_market([symbol], ["binance"], 3000)
    assert low < series.close.min() and series.close.max() < high


def test_choppy_liquid_stretches_and_changing_volatility() -> None:
    (series,) = synthetic_market(["BTC/USDT"], ["binance"], 3000)
    dollar_volume = series.close * series.volume
    assert np.median(dollar_volume) > 250_000
    returns = np.diff(np.log(series.close))
    windows = np.lib.stride_tricks.sliding_window_view(returns, 60).std(axis=1)
    assert windows.max() > 2.5 * windows.min()  # calm and volatile regimes


def test_second_venue_tracks_the_first_with_short_dislocations() -> None:
    primary, secondary = synthetic_market(["BTC/USDT"], ["binance", "bybit"], 3000)
    basis = secondary.close / primary.close - 1.0
    wide = np.abs(basis) > 0.0018
    assert np.median(np.abs(basis)) < 0.0005
    assert 5 <= int(wide.sum()) < 100
    runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], wide.astype(int), [0]]))))[::2]
    assert runs.max() <= 3  # closes again within three 5m bars


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n_bars"):
        synthetic_market(SYMBOLS, ["binance"], 0)
    with pytest.raises(ValueError, match="interval"):
        synthetic_market(SYMBOLS, ["binance"], 10, interval="7x")
