"""The pre-trade gate: pure checks of one order against the limits. A denial is a value, not an error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from tradeops.domain.events import DenialReason
from tradeops.domain.money import ZERO, to_decimal
from tradeops.domain.trading import OrderRequest, TradingState


@dataclass(frozen=True, slots=True)
class Limits:
    """Limits for one strategy on one venue, derived from its risk profile and allocation."""

    allocation: float
    max_position_pct: float
    max_open_positions: int
    max_daily_loss_pct: float
    hard_drawdown_pct: float
    max_leverage: float
    min_quantity: Decimal
    min_notional: Decimal
    # The float limits as the exact Decimals `to_decimal` gives, converted once per Limits.
    exact: tuple[Decimal, Decimal, Decimal, Decimal, Decimal] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "exact",
            (
                to_decimal(self.allocation),
                to_decimal(self.max_position_pct),
                to_decimal(self.max_daily_loss_pct),
                to_decimal(self.hard_drawdown_pct),
                to_decimal(self.max_leverage),
            ),
        )


@dataclass(frozen=True, slots=True)
class Exposure:
    """The account and strategy as they stand before the order."""

    equity: Decimal
    peak_equity: Decimal
    gross_exposure: Decimal  # account-wide sum of |position notional|
    strategy_exposure: Decimal  # this strategy, all instruments
    position_quantity: Decimal  # this strategy's signed quantity on the order's instrument
    open_positions: int  # account-wide
    strategy_day_pnl: Decimal


@dataclass(frozen=True, slots=True)
class Denial:
    reason: DenialReason
    detail: str


def is_reducing(order: OrderRequest, position_quantity: Decimal) -> bool:
    """True when the order only shrinks the existing position (never flips or grows it)."""
    signed = order.quantity * order.side.sign
    return (
        position_quantity != 0
        and (signed > 0) != (position_quantity > 0)
        and abs(signed) <= abs(position_quantity)
    )


def _state_denial(state: TradingState, reducing: bool, scope: str) -> Denial | None:
    if state is TradingState.HALTED:
        return Denial(DenialReason.TRADING_HALTED, f"{scope} trading is halted")
    if state is TradingState.REDUCING and not reducing:
        return Denial(DenialReason.REDUCING_ONLY, f"{scope} may only reduce positions")
    return None


def check_order(
    order: OrderRequest,
    limits: Limits,
    exposure: Exposure,
    strategy_state: TradingState = TradingState.ACTIVE,
    global_state: TradingState = TradingState.ACTIVE,
) -> Denial | None:
    """Return why `order` must not go out, or None. Reducing orders pass the exposure limits."""
    return check_order_deferred(
        order, limits, exposure.position_quantity, lambda: exposure, strategy_state, global_state
    )


def check_order_deferred(
    order: OrderRequest,
    limits: Limits,
    position_quantity: Decimal,
    exposure: Callable[[], Exposure],
    strategy_state: TradingState = TradingState.ACTIVE,
    global_state: TradingState = TradingState.ACTIVE,
) -> Denial | None:
    """`check_order`, asking for the exposure only when the order must pass its limits (a denial
    before them, or a reducing order, never reads it): the same verdict, without the account-wide
    figures the common reducing or too-small order does not need."""
    reducing = is_reducing(order, position_quantity)
    denial = _state_denial(global_state, reducing, "account") or _state_denial(
        strategy_state, reducing, order.strategy
    )
    if denial is not None:
        return denial
    quantity = order.quantity
    if quantity < limits.min_quantity or quantity <= 0:
        return Denial(DenialReason.MIN_QUANTITY, f"quantity {quantity} < {limits.min_quantity}")
    notional = quantity * order.reference_price  # order.notional
    if notional < limits.min_notional:
        return Denial(DenialReason.MIN_NOTIONAL, f"notional {notional:.2f} < {limits.min_notional}")
    if reducing:
        return None
    return _exposure_denial(order, limits, exposure())


def _exposure_denial(order: OrderRequest, limits: Limits, exposure: Exposure) -> Denial | None:
    equity = exposure.equity
    if equity <= 0:
        return Denial(DenialReason.INSUFFICIENT_BALANCE, "account equity is not positive")
    price = order.reference_price
    old_qty = exposure.position_quantity
    new_qty = old_qty + order.quantity * order.side.sign
    old_notional, new_notional = abs(old_qty) * price, abs(new_qty) * price
    allocation, position_pct, daily_loss_pct, drawdown_pct, leverage = limits.exact
    budget = allocation * equity
    strategy_after = exposure.strategy_exposure - old_notional + new_notional
    if strategy_after > budget:
        return Denial(
            DenialReason.ALLOCATION_BUDGET,
            f"exposure {strategy_after:.2f} > budget {budget:.2f} (allocation {limits.allocation:g})",
        )
    position_cap = position_pct * equity
    if new_notional > position_cap:
        return Denial(DenialReason.MAX_POSITION, f"position {new_notional:.2f} > {position_cap:.2f}")
    if old_qty == 0 and exposure.open_positions >= limits.max_open_positions:
        return Denial(DenialReason.MAX_OPEN_POSITIONS, f"{exposure.open_positions} positions open")
    daily_budget = daily_loss_pct * budget
    if exposure.strategy_day_pnl < 0 and -exposure.strategy_day_pnl >= daily_budget:
        return Denial(
            DenialReason.DAILY_LOSS, f"day loss {-exposure.strategy_day_pnl:.2f} >= {daily_budget:.2f}"
        )
    peak = exposure.peak_equity
    if peak > 0 and (peak - equity) / peak >= drawdown_pct:
        return Denial(DenialReason.HARD_DRAWDOWN, f"drawdown {(peak - equity) / peak:.4f} from peak")
    gross_after = exposure.gross_exposure - old_notional + new_notional
    if gross_after > leverage * equity:
        return Denial(DenialReason.MAX_LEVERAGE, f"gross {gross_after:.2f} > {limits.max_leverage:g}x equity")
    return None


def drawdown(peak: Decimal, equity: Decimal) -> float:
    return float((peak - equity) / peak) if peak > 0 and equity < peak else 0.0


__all__ = [
    "ZERO",
    "Denial",
    "Exposure",
    "Limits",
    "check_order",
    "check_order_deferred",
    "drawdown",
    "is_reducing",
]
