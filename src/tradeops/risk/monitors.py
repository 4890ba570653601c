"""The loss monitors (pure): daily loss per strategy, hard drawdown of the account, PnL divergence.

Each takes the figures as they stand and returns the state change the runtime must make (or None);
the runtime's trading-state owner applies it and records why.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tradeops.domain.money import ZERO, to_decimal
from tradeops.domain.trading import TradingState


@dataclass(frozen=True, slots=True)
class Verdict:
    """Move `scope` (a strategy name, or `global`) to `state`, because `reason`."""

    scope: str
    state: TradingState
    reason: str


def _exact(fraction: float | Decimal) -> Decimal:
    return fraction if isinstance(fraction, Decimal) else to_decimal(fraction)


def strategy_budget(allocation: float | Decimal, equity: Decimal) -> Decimal:
    """A strategy's capital: its allocated fraction of account equity (a float as configured, or
    the exact Decimal `to_decimal` gives of it, converted once by a caller on a hot path)."""
    return _exact(allocation) * equity


def daily_loss_budget(budget: Decimal, max_daily_loss_pct: float | Decimal) -> Decimal:
    """The quote a strategy may lose today: its profile's daily loss limit of its capital."""
    return _exact(max_daily_loss_pct) * budget


def daily_loss(strategy: str, state: TradingState, day_pnl: Decimal, budget: Decimal) -> Verdict | None:
    """An ACTIVE strategy whose loss today reached its budget reduces; a REDUCING one whose loss is
    back within it (a new UTC day resets day PnL) is active again. Other states are not this
    monitor's to change."""
    if budget > 0 and -day_pnl >= budget and state is TradingState.ACTIVE:
        return Verdict(strategy, TradingState.REDUCING, f"daily loss {-day_pnl:.2f} >= {budget:.2f}")
    if state is TradingState.REDUCING and -day_pnl < budget:
        return Verdict(strategy, TradingState.ACTIVE, "daily loss back within budget")
    return None


def hard_drawdown(
    state: TradingState, peak_equity: Decimal, equity: Decimal, limit: Decimal
) -> Verdict | None:
    """An ACTIVE account reduces once equity fell `limit` (a fraction) below its peak (a halted one
    stays halted: a monitor never loosens a stricter state)."""
    if (
        state is TradingState.ACTIVE
        and peak_equity > 0
        and limit > 0
        and (peak_equity - equity) / peak_equity >= limit
    ):
        ratio = (peak_equity - equity) / peak_equity
        return Verdict("global", TradingState.REDUCING, f"hard drawdown {ratio:.4f}")
    return None


def pnl_divergence_ratio(day_pnl: Decimal, budget: Decimal) -> float:
    """Today's loss as a multiple of the daily loss budget (0 when in profit or without a budget)."""
    if budget <= 0 or day_pnl >= ZERO:
        return 0.0
    return float(-day_pnl / budget)
