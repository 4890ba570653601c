"""The matching core shared by the paper venue and the exchange simulator (pure, no state).

An order meets a bar: market orders trade at the bar's open plus slippage (taker); limit orders
trade at their limit when the bar trades through it (maker), or, on arrival, at the open when the
open is already through the limit (a marketable limit takes liquidity, taker). Each match fills at
most `participation` of the bar's volume, rounded down to the quantity step (partial fills).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tradeops.domain.money import quantize_down
from tradeops.domain.trading import Liquidity, OrderType, Side


@dataclass(frozen=True, slots=True)
class MatchModel:
    maker_fee: Decimal
    taker_fee: Decimal
    slippage: Decimal  # fraction of price
    participation: Decimal  # share of a bar's volume one order may take
    quantity_step: Decimal


@dataclass(frozen=True, slots=True)
class BarView:
    """The part of a bar matching needs (a Bar, or the simulator's current market)."""

    open: Decimal
    high: Decimal
    low: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class Match:
    quantity: Decimal
    price: Decimal
    fee_rate: Decimal
    liquidity: Liquidity

    @property
    def fee_quote(self) -> Decimal:
        """The fee in the quote asset (quantity x price x rate)."""
        return self.quantity * self.price * self.fee_rate


def match_order(
    side: Side,
    order_type: OrderType,
    limit_price: Decimal | None,
    remaining: Decimal,
    bar: BarView,
    model: MatchModel,
    *,
    on_arrival: bool = False,
) -> Match | None:
    """What `remaining` of one order fills against `bar` (None: nothing)."""
    capacity = quantize_down(bar.volume * model.participation, model.quantity_step)
    quantity = min(remaining, capacity)
    if quantity <= 0:
        return None
    direction = Decimal(side.sign)
    taker_price = bar.open * (1 + direction * model.slippage)
    if order_type is OrderType.LIMIT and limit_price is not None:
        if on_arrival and (bar.open <= limit_price if side is Side.BUY else bar.open >= limit_price):
            price = min(taker_price, limit_price) if side is Side.BUY else max(taker_price, limit_price)
            return Match(quantity, price, model.taker_fee, Liquidity.TAKER)
        crossed = (bar.low <= limit_price) if side is Side.BUY else (bar.high >= limit_price)
        if not crossed:
            return None
        return Match(quantity, limit_price, model.maker_fee, Liquidity.MAKER)
    return Match(quantity, taker_price, model.taker_fee, Liquidity.TAKER)
