"""Volatility target: hold a long weight inversely proportional to realised volatility."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from tradeops.config.models import VolatilityTargetParams
from tradeops.domain.trading import Signal, SignalLeg
from tradeops.strategies.base import Holding, MarketView


class VolatilityTargetStrategy:
    """Target weight = clip(target_volatility / max(annualised realised vol, floor), min, max).

    Realised volatility is the std of the last `lookback` log returns, annualised with
    `bars_per_year`. A signal is emitted only when |target - current| / target reaches
    `rebalance_threshold`, so a held weight is not churned by small moves.
    """

    name = "volatility_target"

    def __init__(self, params: VolatilityTargetParams) -> None:
        self.params = params
        self._need = self.required_bars()
        self._annualise = math.sqrt(params.bars_per_year)
        # The per-bar target weight as a precomputed feature: the same float operations as
        # target_weight(volatility x annualise), so the same values.
        self._weight_params: tuple[float, ...] = (
            params.lookback,
            params.bars_per_year,
            params.target_volatility,
            params.floor_volatility,
            params.min_allocation,
            params.max_allocation,
        )

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
        threshold = self.params.rebalance_threshold
        feature = view.feature
        weight_params = self._weight_params
        get = holdings.get
        signals: list[Signal] = []
        for venue in venues:
            for symbol in symbols:
                # target_weight of the annualised volatility; NaN until lookback + 1 bars
                target = feature(venue, symbol, "vol_target_weight", *weight_params)
                if target != target:
                    continue
                held = get((venue, symbol))
                current = held.weight if held is not None and held.quantity != 0 else 0.0
                if current == target or (target > 0 and abs(target - current) < threshold * target):
                    continue
                signals.append(self._rebalance(view, venue, symbol, current, target))
        return signals

    def _rebalance(self, view: MarketView, venue: str, symbol: str, current: float, target: float) -> Signal:
        realised = view.feature(venue, symbol, "volatility", self.params.lookback) * self._annualise
        if current == 0.0:
            action = "enter"
        elif abs(target) < abs(current):
            action = "reduce"
        else:
            action = "increase"
        deviation = abs(target - current) / target if target > 0 else 1.0
        return Signal(
            strategy=self.name,
            ts=view.now_ms,
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
