"""Invariants of the four strategies over random markets, parameters and holdings (hypothesis)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tradeops.config.models import (
    CrossExchangeParams,
    DailyTrendParams,
    MeanReversionParams,
    VolatilityTargetParams,
)
from tradeops.domain.trading import Signal
from tradeops.marketdata.series import CandleSeries
from tradeops.marketdata.series_store import SeriesStore
from tradeops.strategies.base import Holding, Strategy
from tradeops.strategies.cross_exchange import CrossExchangeStrategy
from tradeops.strategies.daily_trend import DailyTrendStrategy
from tradeops.strategies.mean_reversion import MeanReversionStrategy
from tradeops.strategies.volatility_target import VolatilityTargetStrategy

VENUES = ("binance", "bybit")
SYMBOLS = ("BTC/USDT", "ETH/USDT")
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

small = st.integers(min_value=1, max_value=12)
markets = st.fixed_dictionaries(
    {
        "returns": st.lists(st.floats(-0.03, 0.03), min_size=5, max_size=80),
        "basis": st.lists(st.floats(-0.006, 0.006), min_size=80, max_size=80),
        "volume": st.floats(0.0, 10_000.0),
    }
)
holdings_strategy = st.dictionaries(
    st.tuples(st.sampled_from(VENUES), st.sampled_from(SYMBOLS)),
    st.tuples(st.floats(-2.0, 2.0), st.integers(0, 40), st.integers(0, 3_600_000)),
    max_size=4,
)


def _store(market: dict[str, Any]) -> SeriesStore:
    store = SeriesStore()
    returns = np.asarray(market["returns"])
    for offset, symbol in enumerate(SYMBOLS):
        closes = 100.0 * (offset + 1) * np.exp(np.cumsum(returns))
        for venue in VENUES:
            factor = 1.0 + np.asarray(market["basis"][: len(closes)]) if venue == "bybit" else 1.0
            store.add_candles(
                CandleSeries.from_closes(closes * factor, symbol, venue, volume=market["volume"]), 2.0
            )
    return store


def _holdings(raw: dict[tuple[str, str], tuple[float, int, int]], now: int) -> dict[tuple[str, str], Holding]:
    return {
        key: Holding(*key, weight=w, quantity=w, avg_price=100.0, opened_ts=now - age, bars_held=bars)
        for key, (w, bars, age) in raw.items()
        if w != 0.0
    }


def _run(strategy: Strategy, market: dict[str, Any], raw_holdings: Any) -> list[Signal]:
    """Decide at every bar close; check the invariants common to all strategies on the way."""
    store = _store(market)
    twin = _store(market)
    out: list[Signal] = []
    while (now := store.next_reveal_ms()) is not None:
        store.advance_to(now)
        twin.advance_to(now)
        held = _holdings(raw_holdings, now)
        signals = strategy.decide(store.view(), VENUES, SYMBOLS, held)
        assert signals == strategy.decide(store.view(), VENUES, SYMBOLS, held)  # deterministic
        assert signals == strategy.decide(twin.view(), VENUES, SYMBOLS, held)  # and only data-driven
        for signal in signals:
            assert signal.strategy == strategy.name
            assert signal.ts == now
            assert 0.0 <= signal.confidence <= 1.0
            assert signal.legs
            for leg in signal.legs:
                assert math.isfinite(leg.target_weight) and -1.0 <= leg.target_weight <= 1.0
            for value in signal.metadata.values():
                assert isinstance(value, str) or math.isfinite(value)
        out.extend(signals)
    event(f"{strategy.name} emitted signals: {bool(out)}")
    return out


@SETTINGS
@given(
    market=markets,
    holdings=holdings_strategy,
    fast=small,
    slow=small,
    lookback=small,
    mult=st.floats(0.1, 4.0),
    min_trend=st.floats(-0.02, 0.02),
    min_momentum=st.floats(-0.02, 0.02),
)
def test_daily_trend_is_long_only(
    market: dict[str, Any],
    holdings: Any,
    fast: int,
    slow: int,
    lookback: int,
    mult: float,
    min_trend: float,
    min_momentum: float,
) -> None:
    params = DailyTrendParams(
        fast_ma=fast,
        slow_ma=slow,
        breakout_lookback=lookback,
        momentum_window=max(1, lookback // 2),
        atr_window=fast,
        atr_multiplier=mult,
        min_trend_strength=min_trend,
        min_momentum=min_momentum,
    )
    for signal in _run(DailyTrendStrategy(params), market, holdings):
        assert all(leg.target_weight >= 0.0 for leg in signal.legs)


@SETTINGS
@given(
    market=markets,
    holdings=holdings_strategy,
    lookback=st.integers(2, 20),
    entry=st.floats(0.3, 3.0),
    exit_z=st.floats(0.0, 0.5),
    cap=st.floats(0.001, 0.2),
    allow_short=st.booleans(),
)
def test_mean_reversion_weights_and_short_rule(
    market: dict[str, Any],
    holdings: Any,
    lookback: int,
    entry: float,
    exit_z: float,
    cap: float,
    allow_short: bool,
) -> None:
    params = MeanReversionParams(
        lookback=lookback,
        entry_zscore=entry,
        exit_zscore=exit_z,
        max_holding_bars=3,
        volatility_cap=cap,
        min_volume_usd=1_000.0,
        allow_short=allow_short,
    )
    for signal in _run(MeanReversionStrategy(params), market, holdings):
        if not allow_short:
            assert all(leg.target_weight >= 0.0 for leg in signal.legs)


@SETTINGS
@given(
    market=markets,
    holdings=holdings_strategy,
    lookback=st.integers(2, 30),
    threshold=st.floats(0.0, 0.5),
    low=st.floats(0.0, 0.5),
    high=st.floats(0.5, 1.0),
)
def test_volatility_target_stays_within_its_allocation_band(
    market: dict[str, Any], holdings: Any, lookback: int, threshold: float, low: float, high: float
) -> None:
    params = VolatilityTargetParams(
        lookback=lookback, rebalance_threshold=threshold, min_allocation=low, max_allocation=high
    )
    for signal in _run(VolatilityTargetStrategy(params), market, holdings):
        assert all(low <= leg.target_weight <= high for leg in signal.legs)


@SETTINGS
@given(
    market=markets,
    holdings=holdings_strategy,
    entry=st.floats(0.0002, 0.01),
    exit_fraction=st.floats(0.0, 1.0),
    max_open=st.integers(1, 900),
    max_age=st.integers(1_000, 900_000),
)
def test_cross_exchange_legs_are_opposite_and_equal(
    market: dict[str, Any], holdings: Any, entry: float, exit_fraction: float, max_open: int, max_age: int
) -> None:
    params = CrossExchangeParams(
        spread_entry=entry,
        spread_exit=entry * exit_fraction,
        max_open_seconds=max_open,
        max_quote_age_ms=max_age,
    )
    for signal in _run(CrossExchangeStrategy(params), market, holdings):
        primary, secondary = signal.legs
        assert (primary.venue, secondary.venue) == VENUES
        assert primary.symbol == secondary.symbol
        assert primary.target_weight == -secondary.target_weight
