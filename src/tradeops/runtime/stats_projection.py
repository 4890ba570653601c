"""The figures projection: books and allocations copied into RuntimeStats for metrics, at most every
`interval_s` of wall time unless forced. Trading states are not copied here: their owner
(runtime/trading_state.py) shows each change at once."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from tradeops.config.models import RiskProfile
from tradeops.domain.money import to_decimal
from tradeops.domain.trading import Fill
from tradeops.risk.monitors import daily_loss_budget, strategy_budget
from tradeops.runtime.portfolio import Portfolio
from tradeops.runtime.stats import RuntimeStats

STATS_INTERVAL_S = 0.2


class StatsProjection:
    def __init__(
        self,
        stats: RuntimeStats,
        portfolio: Portfolio,
        *,
        interval_s: float = STATS_INTERVAL_S,
        wall_s: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.stats = stats
        self.portfolio = portfolio
        self.interval_s = interval_s
        self._wall_s = wall_s
        self._published_at = 0.0

    def book_fill(self, fill: Fill) -> None:
        figures = self.stats.strategies[fill.strategy]
        figures.fills += 1
        figures.fees += fill.fee_value

    def due(self, force: bool = False) -> bool:
        """True when a publish is due now (forced, or `interval_s` passed since the last one)."""
        now = self._wall_s()
        if not force and now - self._published_at < self.interval_s:
            return False
        self._published_at = now
        return True

    def publish(self, profiles: Mapping[str, RiskProfile], allocations: Mapping[str, float]) -> None:
        """Copy equity, PnL, exposure, budgets and drawdowns per strategy (`profiles`: its risk profile)."""
        book = self.portfolio
        equity = book.equity()
        self.stats.equity = equity
        for name, profile in profiles.items():
            s = self.stats.strategies[name]
            budget = strategy_budget(allocations[name], equity)
            pnl_book = book.books[name]
            s.realized_pnl = pnl_book.realized - pnl_book.fees
            s.unrealized_pnl = book.unrealized(name)
            s.exposure = s.allocation_used = book.strategy_exposure(name)
            s.allocation_allowed = budget
            s.day_pnl = book.day_pnl(name)
            s.daily_loss_budget = daily_loss_budget(budget, profile.max_daily_loss_pct)
            base = book.initial_equity * to_decimal(profile.allocation(name) or 1)
            s.drawdown_ratio = float((pnl_book.peak_pnl - book.strategy_pnl(name)) / base) if base else 0.0
            s.max_drawdown_ratio = float(pnl_book.max_drawdown / base) if base else 0.0
            s.configured_allocation = profile.allocation(name)
            s.max_daily_loss_ratio = profile.max_daily_loss_pct
            s.max_position_ratio = profile.max_position_pct
