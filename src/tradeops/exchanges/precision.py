"""A venue's precision and minimums, applied before an order leaves: quantity rounded down to the
step, price to the tick (buys down, sells up: never a worse price), orders below the minimum size
or notional denied with a reason code. Live venues take them from ccxt's load_markets, the paper
venue from its config: one implementation for both."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from tradeops.config.models import VenueConfig
from tradeops.domain.events import DenialReason
from tradeops.domain.money import ZERO, quantize_down, to_decimal
from tradeops.domain.trading import InstrumentLimits, OrderRequest, OrderType, Side
from tradeops.exchanges.errors import PrecisionDenied

DECIMAL_PLACES_MODE = 2  # ccxt.DECIMAL_PLACES; TICK_SIZE (4) gives steps directly


def _step(value: Any, mode: int) -> Decimal:
    if value is None:
        return ZERO
    number = to_decimal(value if isinstance(value, int | str) else float(value))
    return Decimal(1).scaleb(-int(number)) if mode == DECIMAL_PLACES_MODE else number


def _limit(market: dict[str, Any], kind: str) -> Decimal:
    value = ((market.get("limits") or {}).get(kind) or {}).get("min")
    return ZERO if value is None else to_decimal(float(value))


@dataclass(frozen=True, slots=True)
class MarketRules:
    symbol: str
    step: Decimal
    tick: Decimal
    min_qty: Decimal
    min_notional: Decimal
    spot: bool = True

    @classmethod
    def from_ccxt(cls, market: dict[str, Any], precision_mode: int) -> MarketRules:
        precision = market.get("precision") or {}
        return cls(
            symbol=str(market["symbol"]),
            step=_step(precision.get("amount"), precision_mode),
            tick=_step(precision.get("price"), precision_mode),
            min_qty=_limit(market, "amount"),
            min_notional=_limit(market, "cost"),
            spot=bool(market.get("spot", True)),
        )

    @classmethod
    def from_venue_config(cls, symbol: str, cfg: VenueConfig) -> MarketRules:
        return cls(
            symbol=symbol,
            step=to_decimal(cfg.quantity_step),
            tick=ZERO,  # the paper venue fills at any price
            min_qty=to_decimal(cfg.min_quantity),
            min_notional=to_decimal(cfg.min_notional),
        )

    def limits(self) -> InstrumentLimits:
        """The figures the engine sizes orders and recognises dust with (Exchange.instrument_limits)."""
        return InstrumentLimits(self.step, self.tick, self.min_qty, self.min_notional)

    def price(self, order: OrderRequest) -> Decimal | None:
        if order.order_type is not OrderType.LIMIT or order.limit_price is None:
            return None
        if self.tick <= 0:
            return order.limit_price
        rounding = ROUND_FLOOR if order.side is Side.BUY else ROUND_CEILING
        return (order.limit_price / self.tick).to_integral_value(rounding=rounding) * self.tick

    def prepare(
        self, order: OrderRequest, max_notional: Decimal | None = None
    ) -> tuple[Decimal, Decimal | None]:
        """(quantity, price) as the venue accepts them, or PrecisionDenied."""
        quantity = quantize_down(order.quantity, self.step)
        if quantity <= 0 or quantity < self.min_qty:
            raise PrecisionDenied(
                DenialReason.MIN_QUANTITY,
                f"{order.symbol} quantity {order.quantity} rounds to {quantity} "
                f"(step {self.step}, minimum {self.min_qty})",
            )
        price = self.price(order)
        notional = quantity * (price if price is not None else order.reference_price)
        if notional < self.min_notional:
            raise PrecisionDenied(
                DenialReason.MIN_NOTIONAL,
                f"{order.symbol} notional {notional:.8f} below the venue minimum {self.min_notional}",
            )
        if max_notional is not None and notional > max_notional:
            raise PrecisionDenied(
                DenialReason.MAX_ORDER_NOTIONAL,
                f"{order.symbol} notional {notional:.2f} above max_order_notional {max_notional}",
            )
        return quantity, price
