"""Registry: config keys build the four strategies; unknown names are user errors."""

from __future__ import annotations

import pytest

from tradeops.config.models import STRATEGY_NAMES, StrategiesConfig
from tradeops.domain.errors import UserInputError
from tradeops.strategies.registry import STRATEGY_CLASSES, build_strategies, build_strategy


def test_every_configured_strategy_has_a_class_named_like_its_key() -> None:
    assert set(STRATEGY_CLASSES) == set(STRATEGY_NAMES)
    cfg = StrategiesConfig()
    for name in STRATEGY_NAMES:
        strategy = build_strategy(name, cfg)
        assert strategy.name == name
        assert strategy.required_bars() >= 1


def test_parameters_come_from_the_config() -> None:
    cfg = StrategiesConfig().model_copy(
        update={"daily_trend": StrategiesConfig().daily_trend.model_copy(update={"slow_ma": 240})}
    )
    assert build_strategy("daily_trend", cfg).required_bars() == 240


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(UserInputError, match="grid_trading") as info:
        build_strategies(StrategiesConfig(), ["daily_trend", "grid_trading"])
    for name in STRATEGY_NAMES:
        assert name in str(info.value)


def test_build_strategies_keeps_the_requested_names() -> None:
    built = build_strategies(StrategiesConfig(), ["mean_reversion", "cross_exchange"])
    assert list(built) == ["mean_reversion", "cross_exchange"]
