"""Mean reversion: fade z-score extremes of the close in calm, liquid markets."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import ClassVar

from mypy_extensions import mypyc_attr

from tradeops.config.models import MeanReversionParams
from tradeops.domain.trading import Signal, SignalLeg
from tradeops.strategies.base import Holding, MarketView

VOLATILITY_EXIT_MULTIPLE = 1.5


@mypyc_attr(allow_interpreted_subclasses=True)  # a user strategy may extend it
class MeanReversionStrategy:
    """Enter long when the z-score of the close over `lookback` bars is <= -entry_zscore (short on
    the mirror condition, only with `allow_short`), if per-bar realised volatility is within
    `volatility_cap` and the average dollar volume is at least `min_volume_usd`.

    Exit (target 0) once the z-score is back inside `exit_zscore` (or beyond the mean), after
    `max_holding_bars`, or when volatility exceeds 1.5 x the cap. Illiquid instruments get no new
    entries, but held positions can always be closed.
    """

    name: ClassVar[str] = "mean_reversion"

    def __init__(self, params: MeanReversionParams) -> None:
        self.params = params
        self._need = self.required_bars()

    def required_bars(self) -> int:
        return self.params.lookback + 1

    def decide(
        self,
        view: MarketView,
        venues: Sequence[str],
        symbols: Sequence[str],
        holdings: Mapping[tuple[str, str], Holding],
    ) -> list[Signal]:
        signals: list[Signal] = []
        lookback = self.params.lookback
        entry, allow_short = self.params.entry_zscore, self.params.allow_short
        feature = view.feature
        get = holdings.get
        for venue in venues:
            for symbol in symbols:
                z = feature(venue, symbol, "zscore", lookback)  # NaN while history is short
                held = get((venue, symbol)) if holdings else None
                if held is not None and held.quantity != 0:
                    signal = None if math.isnan(z) else self._exit(view, venue, symbol, z, held)
                elif abs(z) >= entry and (z <= 0 or allow_short):  # False for NaN; _entry re-tests
                    signal = self._entry(view, venue, symbol, z)
                else:
                    continue
                if signal is not None:
                    signals.append(signal)
        return signals

    def _entry(self, view: MarketView, venue: str, symbol: str, z: float) -> Signal | None:
        p = self.params
        if (
            abs(z) < p.entry_zscore
            or (z > 0 and not p.allow_short)
            or view.bar_count(venue, symbol) < self._need
        ):
            return None
        vol = view.feature(venue, symbol, "volatility", p.lookback)
        if not vol <= p.volatility_cap:
            return None
        dollar_volume = view.feature(venue, symbol, "dollar_volume", p.lookback)
        if p.min_volume_usd > 0 and not dollar_volume >= p.min_volume_usd:
            return None
        direction = 1.0 if z < 0 else -1.0
        confidence = max(0.1, min(1.0, 0.5 + 0.5 * (abs(z) - p.entry_zscore) / p.entry_zscore))
        side = "long" if direction > 0 else "short"
        return Signal(
            strategy=self.name,
            ts=view.now_ms,
            legs=(SignalLeg(venue, symbol, direction),),
            confidence=confidence,
            reason=f"{side} entry: z-score {z:.2f} beyond {p.entry_zscore}",
            metadata={
                "action": "enter",
                "zscore": z,
                "volatility": vol,
                "dollar_volume": dollar_volume,
                "regime": "calm",
            },
        )

    def _exit(self, view: MarketView, venue: str, symbol: str, z: float, held: Holding) -> Signal | None:
        p = self.params
        if view.bar_count(venue, symbol) < self._need:
            return None
        vol = view.feature(venue, symbol, "volatility", p.lookback)
        long = held.quantity > 0
        if (long and z >= -p.exit_zscore) or (not long and z <= p.exit_zscore):
            reason = f"reverted: z-score {z:.2f} inside {p.exit_zscore}"
        elif held.bars_held >= p.max_holding_bars:
            reason = f"held {held.bars_held} bars >= {p.max_holding_bars}"
        elif vol > VOLATILITY_EXIT_MULTIPLE * p.volatility_cap:
            reason = f"volatility {vol:.4f} above {VOLATILITY_EXIT_MULTIPLE} x cap {p.volatility_cap}"
        elif not long and not p.allow_short:
            reason = "shorts not allowed: flattening"
        else:
            return None
        regime = "volatile" if vol > p.volatility_cap else "calm"
        return Signal(
            strategy=self.name,
            ts=view.now_ms,
            legs=(SignalLeg(venue, symbol, 0.0),),
            confidence=1.0,  # risk-reducing signals rank first under max_signals
            reason=reason,
            metadata={
                "action": "exit",
                "zscore": z,
                "volatility": vol,
                "bars_held": float(held.bars_held),
                "regime": regime,
            },
        )
