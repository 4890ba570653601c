"""The engine's loss monitors after a market update: a strategy losing its daily budget reduces and
is active again on the next UTC day, whatever shortcut the engine takes when no verdict is possible."""

from __future__ import annotations

import dataclasses

from tests.unit.test_dust import Watching, _book
from tests.unit.test_engine import build, step
from tradeops.domain.trading import TradingState
from tradeops.risk import monitors

DAY_MS = 86_400_000


def test_daily_loss_reduces_then_a_new_day_lifts_it_and_the_verdicts_match_the_monitor():
    engine, market, clock, _sink, _ = build()
    engine.slots["daily_trend"] = dataclasses.replace(engine.slots["daily_trend"], strategy=Watching())
    step(engine, market, clock, 0)
    _book(engine, "0.1", clock["now"])  # 3,000 USDT of BTC at 30,000
    seen = []
    for ts, price in ((300_000, 30_500.0), (600_000, 29_000.0), (900_000, 25_000.0), (DAY_MS, 25_100.0)):
        step(engine, market, clock, ts, price)
        state = engine.strategy_states["daily_trend"]
        budget = monitors.daily_loss_budget(
            engine._budget("daily_trend"), engine.slots["daily_trend"].profile.max_daily_loss_pct
        )
        seen.append((state, -engine.portfolio.day_pnl("daily_trend") >= budget))
    assert seen[0] == (TradingState.ACTIVE, False)  # in profit: no verdict
    assert seen[2] == (TradingState.REDUCING, True)  # 500 USDT lost today
    assert seen[3] == (TradingState.ACTIVE, False)  # a new day: day PnL starts again
    assert engine.portfolio.day_pnl("daily_trend") == 0  # its first mark of the day is its start
