"""A deterministic synthetic market with regimes every shipped strategy can trade.

Log price = random walk with regime drift + per-bar "level" noise that does not accumulate (the
mean-reverting part). Regimes: calm, trend_up, chop, volatile, trend_down. Every symbol starts with
the same regime order (so even ~3000 5m bars contain breakouts, choppy stretches and volatility
changes), then continues with random regimes biased back towards the symbol's base price.

Extra venues track the first (reference) venue's prices with small basis noise plus occasional
dislocations of 0.24-0.40 % that close again within one to three bars.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tradeops.domain.market import interval_to_ms
from tradeops.marketdata.series import CandleSeries, FloatArray

DEFAULT_START_MS = 1_700_000_000_000
BASE_PRICES = {
    "BTC": 42_000.0,
    "ETH": 2_200.0,
    "SOL": 100.0,
    "BNB": 300.0,
    "XRP": 0.6,
    "ADA": 0.45,
    "LTC": 80.0,
    "DOT": 6.5,
    "LINK": 14.0,
    "AVAX": 25.0,
    "MATIC": 0.85,
}
DEFAULT_BASE_PRICE = 50.0
DOLLAR_VOLUME_PER_BAR = 1_500_000.0  # typical traded value of a 5m bar on the reference venue
BASIS_NOISE = 0.00025  # relative price noise of an extra venue against the reference
DISLOCATION_EVERY_BARS = 200  # mean spacing of cross-venue dislocations
REFERENCE_BAR_MS = 300_000  # regime parameters are per 5m bar and scaled for other intervals


@dataclass(frozen=True, slots=True)
class Regime:
    name: str
    drift: float  # log drift per bar
    walk_sigma: float  # accumulating noise per bar
    level_sigma: float  # non-accumulating noise (mean reversion)
    min_bars: int
    max_bars: int


REGIMES = {
    "calm": Regime("calm", 0.0, 0.0005, 0.0002, 200, 400),
    "trend_up": Regime("trend_up", 0.0003, 0.0009, 0.0002, 250, 450),
    "chop": Regime("chop", 0.0, 0.0002, 0.0012, 300, 600),
    "volatile": Regime("volatile", 0.0, 0.0022, 0.0006, 150, 300),
    "trend_down": Regime("trend_down", -0.0003, 0.0009, 0.0002, 250, 450),
}
OPENING_SEQUENCE = ("calm", "trend_up", "chop", "volatile", "trend_down", "chop")


def _rng(seed: int, *names: str) -> np.random.Generator:
    return np.random.default_rng([seed, *(zlib.crc32(n.encode()) for n in names)])


def base_price(symbol: str) -> float:
    return BASE_PRICES.get(symbol.split("/")[0].upper(), DEFAULT_BASE_PRICE)


def _next_regime(rng: np.random.Generator, level: float) -> Regime:
    """Random regime; trends lean back towards the base price so prices stay plausible."""
    up = 0.5 - max(-0.45, min(0.45, level * 3.0))  # level is log(price / base)
    weights = np.array([0.2, 0.25 * up, 0.25, 0.15, 0.25 * (1.0 - up)])
    names = ("calm", "trend_up", "chop", "volatile", "trend_down")
    return REGIMES[names[int(rng.choice(5, p=weights / weights.sum()))]]


def _segments(rng: np.random.Generator, n_bars: int, scale: float) -> tuple[FloatArray, FloatArray]:
    """Per-bar log steps and level-noise sigma, one regime segment at a time."""
    steps: list[FloatArray] = []
    levels: list[FloatArray] = []
    total = 0
    level = 0.0  # log(price / base) so far, steering later trends back
    while total < n_bars:
        index = len(steps)
        if index < len(OPENING_SEQUENCE):
            regime = REGIMES[OPENING_SEQUENCE[index]]
        else:
            regime = _next_regime(rng, level)
        length = min(int(rng.integers(regime.min_bars, regime.max_bars + 1)), n_bars - total)
        walk = regime.drift * scale + regime.walk_sigma * np.sqrt(scale) * rng.standard_normal(length)
        steps.append(walk)
        levels.append(np.full(length, regime.level_sigma * np.sqrt(scale)))
        total += length
        level += float(walk.sum())
    return np.concatenate(steps), np.concatenate(levels)


def _reference_path(symbol: str, n_bars: int, scale: float, seed: int) -> tuple[FloatArray, ...]:
    """Open, high, low, close, volume of the reference venue."""
    rng = _rng(seed, "path", symbol)
    steps, level = _segments(rng, n_bars, scale)
    walk_sigma = np.abs(steps)
    log_close = np.log(base_price(symbol)) + np.cumsum(steps) + level * rng.standard_normal(n_bars)
    close = np.exp(log_close)
    open_ = np.empty(n_bars)
    open_[0] = close[0] * np.exp(-steps[0])
    open_[1:] = close[:-1]
    sigma = walk_sigma + level
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.6, n_bars)) * sigma)
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.6, n_bars)) * sigma)
    activity = np.sqrt(np.abs(np.log(close / open_)) / (0.001 * np.sqrt(scale)) + 0.5)  # busy bars trade more
    dollars = DOLLAR_VOLUME_PER_BAR * scale * activity * np.exp(rng.normal(0.0, 0.35, n_bars))
    return open_, high, low, close, dollars / close


def _venue_factor(symbol: str, venue: str, n_bars: int, seed: int) -> FloatArray:
    """Per-bar price ratio of an extra venue to the reference: basis noise + short dislocations."""
    rng = _rng(seed, "venue", symbol, venue)
    factor = 1.0 + rng.normal(0.0, BASIS_NOISE, n_bars)
    start = int(rng.integers(40, 80))
    while start < n_bars:
        duration = int(rng.integers(1, 4))
        size = float(rng.uniform(0.0024, 0.0040)) * (1.0 if rng.random() < 0.5 else -1.0)
        factor[start : start + duration] += size
        start += duration + int(rng.integers(DISLOCATION_EVERY_BARS // 2, DISLOCATION_EVERY_BARS * 3 // 2))
    return factor


def synthetic_market(
    symbols: Sequence[str],
    venues: Sequence[str],
    n_bars: int,
    interval: str = "5m",
    seed: int = 7,
    start_ms: int | None = None,
) -> list[CandleSeries]:
    """One CandleSeries per venue x symbol (venue-major order). Same arguments, same arrays.

    A symbol's reference path depends only on (seed, symbol), so adding venues or symbols never
    changes the others. The first venue is the reference; later ones track it (see module doc).
    """
    if n_bars <= 0:
        raise ValueError("n_bars must be positive")
    interval_ms = interval_to_ms(interval)
    start = (DEFAULT_START_MS if start_ms is None else start_ms) // interval_ms * interval_ms
    ts = start + interval_ms * np.arange(n_bars, dtype=np.int64)
    scale = interval_ms / REFERENCE_BAR_MS
    paths = {symbol: _reference_path(symbol, n_bars, scale, seed) for symbol in symbols}
    out: list[CandleSeries] = []
    for position, venue in enumerate(venues):
        for symbol in symbols:
            open_, high, low, close, volume = paths[symbol]
            if position > 0:
                factor = _venue_factor(symbol, venue, n_bars, seed)
                noise = _rng(seed, "volume", symbol, venue).normal(0.0, 0.3, n_bars)
                open_, high, low, close = (x * factor for x in (open_, high, low, close))
                volume = volume * 0.7 * np.exp(noise)
            out.append(
                CandleSeries(
                    venue=venue,
                    symbol=symbol,
                    interval=interval,
                    interval_ms=interval_ms,
                    source="synthetic",
                    ts=ts.copy(),
                    open=open_.copy(),
                    high=high.copy(),
                    low=low.copy(),
                    close=close.copy(),
                    volume=volume.copy(),
                )
            )
    return out
