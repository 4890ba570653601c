"""volatility_target on series with known realised volatility."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tradeops.config.models import VolatilityTargetParams
from tradeops.domain.trading import Signal
from tradeops.marketdata.series import CandleSeries
from tradeops.marketdata.series_store import SeriesStore
from tradeops.strategies.base import Holding
from tradeops.strategies.volatility_target import VolatilityTargetStrategy

PARAMS = VolatilityTargetParams(lookback=20)
KEY = ("binance", "BTC/USDT")


def _closes(step: float, n: int = 40) -> list[float]:
    signs = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    return (40_000.0 * np.exp(np.cumsum(signs * step))).tolist()


def _expected_target(closes: list[float]) -> float:
    returns = np.diff(np.log(closes))[-PARAMS.lookback :]
    realised = float(np.std(returns, ddof=1)) * math.sqrt(PARAMS.bars_per_year)
    return min(PARAMS.max_allocation, max(PARAMS.min_allocation, PARAMS.target_volatility / realised))


def _decide(closes: list[float], weight: float | None = None) -> list[Signal]:
    candles = CandleSeries.from_closes(closes)
    store = SeriesStore()
    store.add_candles(candles)
    store.advance_to(candles.end_ms)
    holdings = {}
    if weight is not None:
        holdings[KEY] = Holding(*KEY, weight=weight, quantity=weight, avg_price=1.0, opened_ts=1, bars_held=1)
    return VolatilityTargetStrategy(PARAMS).decide(store.view(), ["binance"], ["BTC/USDT"], holdings)


def test_first_allocation_is_target_vol_over_realised_vol() -> None:
    closes = _closes(0.0006)  # about 20 % a year
    expected = _expected_target(closes)
    assert PARAMS.min_allocation < expected < PARAMS.max_allocation
    signals = _decide(closes)
    assert len(signals) == 1
    assert signals[0].legs[0].target_weight == pytest.approx(expected, rel=1e-9)
    assert signals[0].metadata["action"] == "enter"


def test_small_deviation_is_not_rebalanced() -> None:
    closes = _closes(0.0006)
    target = _expected_target(closes)
    assert _decide(closes, weight=target * 1.05) == []


def test_rebalances_up_and_down_past_the_threshold() -> None:
    closes = _closes(0.0006)
    target = _expected_target(closes)
    up = _decide(closes, weight=target * 0.5)
    down = _decide(closes, weight=target * 1.5)
    assert up[0].metadata["action"] == "increase"
    assert down[0].metadata["action"] == "reduce"
    assert up[0].legs[0].target_weight == pytest.approx(target)


def test_allocation_is_clipped_to_its_bounds() -> None:
    wild = _decide(_closes(0.02))
    calm = _decide([40_000.0] * 40)  # zero volatility: the floor applies
    assert wild[0].legs[0].target_weight == PARAMS.min_allocation
    assert calm[0].legs[0].target_weight == PARAMS.max_allocation


def test_zero_allocation_band_flattens_and_never_enters() -> None:
    params = PARAMS.model_copy(update={"min_allocation": 0.0, "max_allocation": 0.0})
    candles = CandleSeries.from_closes(_closes(0.0006))
    store = SeriesStore()
    store.add_candles(candles)
    store.advance_to(candles.end_ms)
    strategy = VolatilityTargetStrategy(params)
    assert strategy.decide(store.view(), ["binance"], ["BTC/USDT"], {}) == []
    held = {KEY: Holding(*KEY, weight=0.3, quantity=0.3, avg_price=1.0, opened_ts=1, bars_held=1)}
    (signal,) = strategy.decide(store.view(), ["binance"], ["BTC/USDT"], held)
    assert signal.legs[0].target_weight == 0.0 and signal.metadata["action"] == "reduce"
