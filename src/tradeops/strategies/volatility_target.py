"""Volatility target: hold a long weight inversely proportional to realised volatility."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import ClassVar

from mypy_extensions import mypyc_attr

from tradeops.config.models import VolatilityTargetParams
from tradeops.domain.trading import Signal, SignalLeg
from tradeops.strategies.base import Holding, MarketView


@mypyc_attr(allow_interpreted_subclasses=True)  # a user strategy may extend it
class VolatilityTargetStrategy:
    """Target weight = clip(target_volatility / max(annualised realised vol, floor), min, max).

    Realised volatility is the std of the last `lookback` log returns, annualised with
    `bars_per_year`. A signal is emitted only when |target - current| / target reaches
    `rebalance_threshold`, so a held weight is not churned by small moves.
    """

    name: ClassVar[str] = "volatility_target"

    def __init__(self, params: VolatilityTargetParams) -> None:
        self.params = params
        self._need = self.required_bars()
        self._annualise = math.sqrt(params.bars_per_year)

    def required_bars(self) -> int:
        return self.params.lookback + 1

    def target_weight(self, annual_volatility: float) -> float:
        p = self.params
        raw = p.target_volatility / max(annual_volatility, p.floor_volatility)
        return max(p.min_allocation, min(p.max_allocation, raw))

    def decide(
        self,
        view: MarketView,
        venues: Sequence[str],
        symbols: Sequence[str],
        holdings: Mapping[tuple[str, str], Holding],
    ) -> list[Signal]:
        p = self.params
        lookback, annualise, threshold = p.lookback, self._annualise, p.rebalance_threshold
        goal, floor, low, high = p.target_volatility, p.floor_volatility, p.min_allocation, p.max_allocation
        feature = view.feature
        get = holdings.get
        signals: list[Signal] = []
        for venue in venues:
            for symbol in symbols:
                per_bar = feature(venue, symbol, "volatility", lookback)  # NaN until lookback + 1 bars
                if per_bar != per_bar:
                    continue
                realised = per_bar * annualise
                # target_weight(realised) inlined, the same values: max(x, y) is exactly
                # `y if y > x else x` and min(x, y) is `y if y < x else x`.
                target = goal / (floor if floor > realised else realised)
                target = target if target < high else high
                target = target if target > low else low
                held = get((venue, symbol)) if holdings else None
                current = held.weight if held is not None and held.quantity != 0 else 0.0
                if current == target or (target > 0 and abs(target - current) < threshold * target):
                    continue
                signals.append(self._rebalance(view.now_ms, venue, symbol, current, target, realised))
        return signals

    def _rebalance(
        self, now_ms: int, venue: str, symbol: str, current: float, target: float, realised: float
    ) -> Signal:
        if current == 0.0:
            action = "enter"
        elif abs(target) < abs(current):
            action = "reduce"
        else:
            action = "increase"
        deviation = abs(target - current) / target if target > 0 else 1.0
        return Signal(
            strategy=self.name,
            ts=now_ms,
            legs=(SignalLeg(venue, symbol, target),),
            confidence=max(0.1, min(1.0, 0.3 + deviation)),
            reason=f"{action}: weight {current:.3f} -> {target:.3f} (realised vol {realised:.3f})",
            metadata={
                "action": action,
                "target_allocation": target,
                "current_allocation": current,
                "realized_volatility": realised,
                "target_volatility": self.params.target_volatility,
            },
        )
