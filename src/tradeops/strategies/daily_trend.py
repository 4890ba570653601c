"""Daily trend: long-only breakout entries confirmed by trend and momentum; ATR trailing stop exits."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
from mypy_extensions import mypyc_attr

from tradeops.config.models import DailyTrendParams
from tradeops.domain.trading import Signal, SignalLeg
from tradeops.strategies.base import Holding, MarketView


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _cover(bars: int) -> int:
    """The window `_holds` bounds the peak of `bars` bars with: a power of two, at least 64, so a
    few cached windows per instrument. It is usually the peak itself: the closes of the breakout
    lookback before an entry lie below the entry close."""
    return max(64, 1 << (bars - 1).bit_length())


@mypyc_attr(allow_interpreted_subclasses=True)  # a user strategy may extend it
class DailyTrendStrategy:
    """Enter long when the close breaks the previous `breakout_lookback` highs while the fast SMA is
    at least `min_trend_strength` above the slow one and momentum is at least `min_momentum`.

    Exit (target 0) when the trend turns negative, the close falls to the trailing stop
    (highest close since entry minus `atr_multiplier` x ATR) or to the previous breakout low.
    Never goes short: a short holding (which this strategy never asks for) is flattened.
    """

    name: ClassVar[str] = "daily_trend"

    def __init__(self, params: DailyTrendParams) -> None:
        self.params = params
        self._need = self.required_bars()
        self._entry_test = (
            params.breakout_lookback,
            params.fast_ma,
            params.slow_ma,
            params.momentum_window,
            params.min_trend_strength,
            params.min_momentum,
        )
        self._hold_test = (params.fast_ma, params.slow_ma, params.breakout_lookback, params.atr_window)

    def required_bars(self) -> int:
        p = self.params
        return max(p.slow_ma, p.fast_ma, p.breakout_lookback + 1, p.momentum_window + 1, p.atr_window + 1)

    def decide(
        self,
        view: MarketView,
        venues: Sequence[str],
        symbols: Sequence[str],
        holdings: Mapping[tuple[str, str], Holding],
    ) -> list[Signal]:
        signals: list[Signal] = []
        feature = view.feature
        entry_test, hold_test = self._entry_test, self._hold_test
        get = holdings.get
        for venue in venues:
            for symbol in symbols:
                held = get((venue, symbol)) if holdings else None
                if held is None or held.quantity == 0:
                    # One cached lookup rejects almost every bar; details only for real entries.
                    if not feature(venue, symbol, "breakout_entry", *entry_test) > 0.0:
                        continue
                    signal = self._entry(view, venue, symbol)
                elif held.quantity > 0 and self._holds(
                    view, venue, symbol, held, feature(venue, symbol, "trend_hold_atr", *hold_test)
                ):
                    continue
                else:
                    signal = self._exit(view, venue, symbol, held)
                if signal is not None:
                    signals.append(signal)
        return signals

    def _holds(self, view: MarketView, venue: str, symbol: str, held: Holding, atr: float) -> bool:
        """True when `_exit` would surely return None: `atr` (from `trend_hold_atr`) is a number only
        when neither the trend nor the breakdown test fires, and the trailing stop is not hit."""
        if atr != atr:
            return False
        close = view.last(venue, symbol)
        # A cached sufficient test first: the highest close over a power-of-two window covering the
        # bars since entry is >= their peak, and x - c is monotone in x, so passing it implies passing
        # the exact test below (a NaN anywhere fails it and leaves the decision to the exact test).
        bound = view.feature(venue, symbol, "max_close", _cover(max(1, held.bars_held + 1)))
        reference = held.avg_price if held.avg_price > 0 else close
        if close > max(bound, reference) - self.params.atr_multiplier * atr:
            return True
        return close > self._stop(view, venue, symbol, held, close, atr)[1]

    def _stop(
        self, view: MarketView, venue: str, symbol: str, held: Holding, close: float, atr: float
    ) -> tuple[float, float]:
        """(peak close since entry, trailing stop below it)."""
        since_entry = view.history(venue, symbol, "close", max(1, held.bars_held + 1))
        # np.max's own reduction, without np.max's Python-level dispatch (this runs per held bar)
        peak = max(float(np.maximum.reduce(since_entry)), held.avg_price if held.avg_price > 0 else close)
        return peak, peak - self.params.atr_multiplier * atr

    def _trend(self, view: MarketView, venue: str, symbol: str) -> tuple[float, float, float]:
        p = self.params
        fast = view.feature(venue, symbol, "sma", p.fast_ma)
        slow = view.feature(venue, symbol, "sma", p.slow_ma)
        return fast, slow, fast / slow - 1.0

    def _entry(self, view: MarketView, venue: str, symbol: str) -> Signal | None:
        p = self.params
        close = view.last(venue, symbol)
        breakout_high = view.feature(venue, symbol, "highest", p.breakout_lookback)
        if not close >= breakout_high:
            return None
        fast, slow, trend = self._trend(view, venue, symbol)
        if not trend >= p.min_trend_strength:
            return None
        momentum = view.feature(venue, symbol, "momentum", p.momentum_window)
        if not momentum >= p.min_momentum or view.bar_count(venue, symbol) < self._need:
            return None
        atr = view.feature(venue, symbol, "atr", p.atr_window)
        confidence = _clip(
            0.35 + 2.0 * (trend - p.min_trend_strength) + 1.5 * (momentum - p.min_momentum), 0.1, 1.0
        )
        return Signal(
            strategy=self.name,
            ts=view.now_ms,
            legs=(SignalLeg(venue, symbol, 1.0),),
            confidence=confidence,
            reason=f"breakout above {breakout_high:.6g} with trend {trend:.4f} and momentum {momentum:.4f}",
            metadata={
                "action": "enter",
                "close": close,
                "sma_fast": fast,
                "sma_slow": slow,
                "trend_strength": trend,
                "momentum": momentum,
                "atr": atr,
                "breakout_high": breakout_high,
                "stop_price": close - p.atr_multiplier * atr,
            },
        )

    def _exit(self, view: MarketView, venue: str, symbol: str, held: Holding) -> Signal | None:
        p = self.params
        close = view.last(venue, symbol)
        if held.quantity < 0:
            return self._exit_signal(view, venue, symbol, "long-only: flattening a short holding", {})
        if view.bar_count(venue, symbol) < self._need:
            return None
        fast, slow, trend = self._trend(view, venue, symbol)
        atr = view.feature(venue, symbol, "atr", p.atr_window)
        breakout_low = view.feature(venue, symbol, "lowest", p.breakout_lookback)
        peak, stop = self._stop(view, venue, symbol, held, close, atr)
        if trend < 0.0:
            reason = f"trend turned negative ({trend:.4f})"
        elif close <= stop:
            reason = f"trailing stop hit: close {close:.6g} <= {stop:.6g}"
        elif close <= breakout_low:
            reason = f"breakdown: close {close:.6g} <= previous low {breakout_low:.6g}"
        else:
            return None
        metadata: dict[str, float | str] = {
            "close": close,
            "sma_fast": fast,
            "sma_slow": slow,
            "trend_strength": trend,
            "atr": atr,
            "breakout_low": breakout_low,
            "peak_close": peak,
            "stop_price": stop,
            "stop_distance": max(0.0, (stop - close) / close) if close > 0 else 0.0,
        }
        return self._exit_signal(view, venue, symbol, reason, metadata)

    def _exit_signal(
        self, view: MarketView, venue: str, symbol: str, reason: str, metadata: dict[str, float | str]
    ) -> Signal:
        # Risk-reducing signals rank first when the scheduler keeps only the top `max_signals`.
        clean = {k: v for k, v in metadata.items() if not (isinstance(v, float) and math.isnan(v))}
        return Signal(
            strategy=self.name,
            ts=view.now_ms,
            legs=(SignalLeg(venue, symbol, 0.0),),
            confidence=1.0,
            reason=reason,
            metadata={"action": "exit", **clean},
        )
