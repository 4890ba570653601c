"""Trade and curve statistics of a run (pure functions over recorded curves and round trips).

Returns are per recorded sample of a curve measured against a fixed capital (the strategy's
allocated share of the starting equity, or the starting equity for the account); Sharpe and
Sortino are annualised with the number of samples per year (zero risk-free rate). Drawdown is the
fall from the running peak over the same capital. Win rate and profit factor are over closed round
trips, gross of fees; `None` means "not defined" (no trades, no losing trade, a flat curve).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

YEAR_MS = 365 * 86_400_000


@dataclass(frozen=True, slots=True)
class CurveStats:
    total_return: float
    max_drawdown_ratio: float
    sharpe: float | None
    sortino: float | None
    exposure_ratio: float | None


@dataclass(frozen=True, slots=True)
class TradeStats:
    trades: int
    wins: int
    losses: int
    win_rate: float | None
    profit_factor: float | None
    gross_profit: float
    gross_loss: float
    average_trade: float | None


def max_drawdown(values: Sequence[float], capital: float) -> float:
    """Largest fall from a running peak, as a share of `capital`."""
    if capital <= 0 or not values:
        return 0.0
    peak, worst = values[0], 0.0
    for value in values:
        peak = max(peak, value)
        worst = max(worst, peak - value)
    return worst / capital


def drawdown_series(values: Sequence[float], capital: float) -> list[float]:
    """Drawdown at each point (0 at a new peak, negative below it), as a share of `capital`."""
    out, peak = [], -math.inf
    for value in values:
        peak = max(peak, value)
        out.append((value - peak) / capital if capital > 0 else 0.0)
    return out


def _returns(values: Sequence[float], capital: float) -> list[float]:
    return [(b - a) / capital for a, b in itertools.pairwise(values)] if capital > 0 else []


def samples_per_year(times_ms: Sequence[int]) -> float | None:
    if len(times_ms) < 2 or times_ms[-1] <= times_ms[0]:
        return None
    return (len(times_ms) - 1) * YEAR_MS / (times_ms[-1] - times_ms[0])


def sharpe(returns: Sequence[float], per_year: float | None) -> float | None:
    if len(returns) < 2 or per_year is None:
        return None
    mean = math.fsum(returns) / len(returns)
    variance = math.fsum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    if variance <= 0:
        return None
    return mean / math.sqrt(variance) * math.sqrt(per_year)


def sortino(returns: Sequence[float], per_year: float | None) -> float | None:
    if len(returns) < 2 or per_year is None:
        return None
    mean = math.fsum(returns) / len(returns)
    downside = math.fsum(min(r, 0.0) ** 2 for r in returns) / len(returns)
    if downside <= 0:
        return None
    return mean / math.sqrt(downside) * math.sqrt(per_year)


def curve_stats(
    times_ms: Sequence[int], values: Sequence[float], capital: float, exposed: Sequence[bool] | None = None
) -> CurveStats:
    """Statistics of one value curve (PnL or equity) measured against `capital`."""
    returns = _returns(values, capital)
    per_year = samples_per_year(times_ms)
    total = (values[-1] - values[0]) / capital if values and capital > 0 else 0.0
    exposure = sum(1 for flag in exposed if flag) / len(exposed) if exposed else None
    return CurveStats(
        total_return=total,
        max_drawdown_ratio=max_drawdown(values, capital),
        sharpe=sharpe(returns, per_year),
        sortino=sortino(returns, per_year),
        exposure_ratio=exposure,
    )


def trade_stats(pnls: Sequence[float]) -> TradeStats:
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p < 0]
    profit, loss = math.fsum(wins), -math.fsum(losses)
    return TradeStats(
        trades=len(pnls),
        wins=len(wins),
        losses=len(losses),
        win_rate=len(wins) / len(pnls) if pnls else None,
        profit_factor=profit / loss if loss > 0 else None,
        gross_profit=profit,
        gross_loss=loss,
        average_trade=math.fsum(pnls) / len(pnls) if pnls else None,
    )
