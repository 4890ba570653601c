"""Signals, orders, fills, positions and trading state."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from tradeops.domain.money import ZERO


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class TradingState(StrEnum):
    """ACTIVE trades freely; REDUCING only lets exposure shrink; HALTED lets nothing but cancels through."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


@dataclass(frozen=True, slots=True)
class SignalLeg:
    """Desired exposure on one instrument, as a signed fraction of the strategy's capital budget.

    ``target_weight`` 1.0 means "long the whole budget", -0.5 "short half of it", 0.0 "flat".
    """

    venue: str
    symbol: str
    target_weight: float


@dataclass(frozen=True, slots=True)
class Signal:
    """A strategy's wish. It becomes orders only after sizing and the risk gate."""

    strategy: str
    ts: int
    legs: tuple[SignalLeg, ...]
    confidence: float
    reason: str
    metadata: dict[str, float | str] = field(default_factory=dict)

    @property
    def symbol(self) -> str:
        return self.legs[0].symbol if self.legs else ""


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An order on its way to the egress point; nothing leaves the process without passing the gate."""

    client_order_id: str
    strategy: str
    venue: str
    symbol: str
    side: Side
    quantity: Decimal
    reference_price: Decimal
    ts: int
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    reduce_only: bool = False

    @property
    def notional(self) -> Decimal:
        return self.quantity * self.reference_price


@dataclass(frozen=True, slots=True)
class Fill:
    order_id: str
    client_order_id: str
    strategy: str
    venue: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_asset: str
    liquidity: Liquidity
    ts: int
    trade_id: str = ""  # the venue's trade id ("" on the paper venue): booked once per (venue, id)

    @property
    def notional(self) -> Decimal:
        return self.quantity * self.price

    @property
    def fee_in_base(self) -> bool:
        """The fee was taken from the base asset (Binance spot charges buyers in what they buy)."""
        return bool(self.fee) and self.fee_asset == base_asset(self.symbol)

    @property
    def position_change(self) -> Decimal:
        """Signed base quantity the account holds more after the fill (a base fee is not received)."""
        return self.quantity * self.side.sign - (self.fee if self.fee_in_base else ZERO)

    @property
    def fee_value(self) -> Decimal:
        """The fee in the quote asset (a base-asset fee valued at the fill price)."""
        return self.fee * self.price if self.fee_in_base else self.fee

    @property
    def cash_change(self) -> Decimal:
        """What the fill does to the quote balance: pay for a buy, receive for a sell, pay a quote fee."""
        fee = ZERO if self.fee_in_base else self.fee
        return -(self.quantity * self.price * self.side.sign + fee)


def base_asset(symbol: str) -> str:
    """`BTC` of `BTC/USDT` (a symbol without a slash has no known base)."""
    head, sep, _ = symbol.partition("/")
    return head if sep else ""


@dataclass(frozen=True, slots=True)
class Position:
    """Signed quantity held by one strategy on one instrument; `avg_price` is the entry average."""

    strategy: str
    venue: str
    symbol: str
    quantity: Decimal = ZERO
    avg_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    opened_ts: int = 0

    @property
    def is_open(self) -> bool:
        return self.quantity != 0

    def exposure(self, mark: Decimal) -> Decimal:
        """Absolute notional at the mark price."""
        return abs(self.quantity) * mark

    def unrealized(self, mark: Decimal) -> Decimal:
        return (mark - self.avg_price) * self.quantity

    def apply(self, fill: Fill) -> Position:
        """Return the position after `fill` (quote fees are booked separately; a base-asset fee
        makes the position smaller, its value is booked as a fee)."""
        signed = fill.position_change
        old = self.quantity
        new = old + signed
        realized = self.realized_pnl
        avg = self.avg_price
        opened = self.opened_ts
        if old == 0 or (old > 0) == (signed > 0):
            # Opening or adding: weighted average entry.
            avg = (avg * abs(old) + fill.price * abs(signed)) / abs(new) if new != 0 else ZERO
            opened = opened if old != 0 else fill.ts
        else:
            closed = min(abs(signed), abs(old))
            direction = 1 if old > 0 else -1
            realized += (fill.price - avg) * closed * direction
            if new == 0:
                avg, opened = ZERO, 0
            elif (new > 0) != (old > 0):
                avg, opened = fill.price, fill.ts  # flipped through zero
        return Position(self.strategy, self.venue, self.symbol, new, avg, realized, opened)


@dataclass(frozen=True, slots=True)
class OrderAck:
    """What an exchange says about a submitted order: its id and any fills so far."""

    order_id: str
    fills: tuple[Fill, ...]
    open_quantity: Decimal
    rejected_reason: str | None = None


@dataclass(frozen=True, slots=True)
class StrategyStatus:
    """Persisted per-strategy operator state (survives restarts)."""

    strategy: str
    disabled: bool
    reason: str = ""
    ticket: str = ""
    requested_by: str = ""
    until_ms: int | None = None
    changed_ms: int = 0


@dataclass(frozen=True, slots=True)
class InstrumentLimits:
    """One instrument's precision and minimums as its venue states them (ccxt's load_markets live,
    the venue's config on paper): orders are sized in `step`, priced in `tick` (0: any price), and
    none below `min_quantity` or `min_notional` (quote) leaves."""

    step: Decimal
    tick: Decimal
    min_quantity: Decimal
    min_notional: Decimal
