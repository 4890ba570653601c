"""Strategy names (the config keys) to classes, and construction from the parsed configuration."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tradeops.config.models import StrategiesConfig
from tradeops.domain.errors import UserInputError
from tradeops.strategies.base import Strategy
from tradeops.strategies.cross_exchange import CrossExchangeStrategy
from tradeops.strategies.daily_trend import DailyTrendStrategy
from tradeops.strategies.mean_reversion import MeanReversionStrategy
from tradeops.strategies.volatility_target import VolatilityTargetStrategy

STRATEGY_CLASSES: dict[str, type[Any]] = {
    DailyTrendStrategy.name: DailyTrendStrategy,
    MeanReversionStrategy.name: MeanReversionStrategy,
    VolatilityTargetStrategy.name: VolatilityTargetStrategy,
    CrossExchangeStrategy.name: CrossExchangeStrategy,
}


def build_strategy(name: str, params: StrategiesConfig) -> Strategy:
    """Instantiate strategy `name` with its parameters from the `strategies` config section."""
    cls = STRATEGY_CLASSES.get(name)
    if cls is None:
        raise UserInputError(f"unknown strategy {name!r}; valid: {', '.join(STRATEGY_CLASSES)}")
    strategy: Strategy = cls(getattr(params, name))
    return strategy


def build_strategies(cfg: StrategiesConfig, names: Iterable[str]) -> dict[str, Strategy]:
    return {name: build_strategy(name, cfg) for name in names}
