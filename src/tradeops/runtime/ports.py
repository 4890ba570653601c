"""Ports: the only way runtime code reaches the outside world. bootstrap.py picks the adapters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from tradeops.domain.events import DecisionRecord, DenialReason
from tradeops.domain.market import Bar, Quote
from tradeops.domain.trading import Fill, OrderRequest, Position, TradingState


@runtime_checkable
class Clock(Protocol):
    """Injected time. WallClock in live mode, ReplayClock in paper replay and tests."""

    def now_ms(self) -> int: ...

    async def sleep_until(self, ts_ms: int) -> None: ...


class DecisionSink(Protocol):
    """Receives every auditable fact (signals, risk decisions, orders, fills, state changes)."""

    def record(self, record: DecisionRecord) -> None: ...

    def flush(self) -> None:
        """Return once every record so far is durable."""
        ...

    def commit(self) -> None:
        """After a step: project what is durable into the state store (a no-op without one)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class OrderAck:
    """What an exchange says about a submitted order: its id and any fills so far."""

    order_id: str
    fills: tuple[Fill, ...]
    open_quantity: Decimal
    rejected_reason: str | None = None


class Exchange(Protocol):
    """Order egress to one account (paper or ccxt). Called only behind the risk gate."""

    def submit(self, order: OrderRequest) -> OrderAck: ...

    def cancel(self, order_id: str) -> bool: ...

    def cancel_all(self, strategy: str | None = None) -> int: ...

    def open_order_ids(self) -> Sequence[str]: ...

    def open_quantity(self, strategy: str, venue: str, symbol: str) -> Decimal:
        """Signed quantity still working for one strategy and instrument."""
        ...

    def on_market(self, bars: Iterable[Bar], quotes: Iterable[Quote]) -> Sequence[Fill]:
        """Feed new market data: pending (latency-delayed or partial) orders may fill."""
        ...


class MarketData(Protocol):
    """Bars and quotes for the scheduler, up to the clock's now (never ahead of it)."""

    def venues(self) -> Sequence[str]: ...

    def symbols(self, venue: str) -> Sequence[str]: ...

    def advance_to(self, ts_ms: int) -> tuple[list[Bar], list[Quote]]:
        """Move the cursor to `ts_ms`; return bars/quotes that became available."""
        ...

    def next_event_ts(self) -> int | None:
        """Earliest timestamp with new data after the cursor (None when exhausted or live)."""
        ...


class OrderGate(Protocol):
    """The kill switch as the egress point sees it: a cheap check made for every new order."""

    def allows_new_order(self, strategy: str) -> DenialReason | None: ...


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


class StateStore(Protocol):
    """Durable state, a projection of the decision log (balances, positions, orders, fills, trading
    states) plus operator state (strategy status). SQLite default, PostgreSQL optional. The runtime
    only reads projected state here: it changes it by recording events (see DecisionSink)."""

    def load_positions(self) -> list[Position]: ...

    def load_balances(self) -> dict[str, Decimal]: ...

    def strategy_statuses(self) -> dict[str, StrategyStatus]: ...

    def set_strategy_status(self, status: StrategyStatus) -> None: ...

    def trading_states(self) -> dict[str, TradingState]: ...

    def close(self) -> None: ...
