"""Ports: the only way runtime code reaches the outside world. bootstrap picks the adapters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, Protocol

from tradeops.domain.events import DecisionRecord, DenialReason
from tradeops.domain.market import Bar, Quote
from tradeops.domain.trading import (
    Fill,
    InstrumentLimits,
    OrderAck,
    OrderRequest,
    Position,
    StrategyStatus,
    TradingState,
)
from tradeops.strategies.base import MarketView


class DecisionSink(Protocol):
    """Receives every auditable fact (signals, risk decisions, orders, fills, state changes)."""

    def record(self, record: DecisionRecord) -> None: ...

    def flush(self) -> None:
        """Return once every record so far is durable."""
        ...

    def commit(self, *, force: bool = False) -> None:
        """After a step: project what is durable into the state store (a no-op without one); a
        sink may gather several steps into one store transaction unless `force` (the real-time
        scheduler waiting for its next tick: project now)."""
        ...

    def close(self) -> None: ...


class Exchange(Protocol):
    """Order egress to one account (paper or ccxt). Called only behind the risk gate."""

    @property
    def requires_durable_intent(self) -> bool:
        """The venue is outside the process (it may act on an order at once): the order's intent
        must be durable in the log before it is sent. False for the in-process paper venue."""
        ...

    def drain_closed(self) -> Sequence[OrderRequest]:
        """Orders the venue closed with a remainder unfilled since the last call (their final
        outcome, recorded by the engine); empty for a venue that never does that."""
        ...

    def instrument_limits(self, venue: str, symbol: str) -> InstrumentLimits | None:
        """The instrument's step, tick and minimums as the venue states them (a live venue: from
        load_markets; the paper venue: its config), or None when the venue does not list it. The
        engine asks once per instrument, at start."""
        ...

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


class KillPolicy(Protocol):
    """What to do when the global kill switch engages (an override file's `on_disable`)."""

    @property
    def cancel_open_orders(self) -> bool: ...

    @property
    def positions(self) -> str:
        """hold | reduce | flatten"""
        ...


class OrderGate(Protocol):
    """The kill switch as the engine and the egress point see it."""

    def allows_new_order(self, strategy: str) -> DenialReason | None:
        """A cheap check made for every new order (and once per strategy each step)."""
        ...

    def on_disable(self) -> KillPolicy | None:
        """The active override's policy for open orders and positions (None: the configured one)."""
        ...

    def override_malformed(self) -> bool:
        """An override file is present but unreadable (trading halts, the operator must look)."""
        ...


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


class MarketSeries(Protocol):
    """The market as the engine reads it: the strategies' causal view and the last bars."""

    def view(self) -> MarketView: ...

    def interval_ms(self, venue: str, symbol: str) -> int: ...

    def instruments(self) -> list[tuple[str, str]]: ...

    def last_bar(self, venue: str, symbol: str) -> Bar | None: ...


class RevealingMarket(Protocol):
    """The market as the scheduler drives it: bars revealed up to the clock's now."""

    def advance_to(self, now_ms: int) -> list[Bar]: ...

    def next_reveal_ms(self) -> int | None: ...

    def bar_count(self, venue: str, symbol: str) -> int:
        """Bars revealed so far on one instrument (never decreases)."""
        ...


class SchedulerClock(Protocol):
    """Injected time: a WallClock live, a ReplayClock in replays and tests."""

    @property
    def instant(self) -> bool:
        """As fast as possible: sleeping only moves the clock (replays without --speed)."""
        ...

    def now_ms(self) -> int: ...

    async def sleep_until(self, ts_ms: int) -> None: ...

    def lateness_s(self, ts_ms: int) -> float: ...


class StepGuard(Protocol):
    """Cluster mode: brings the engine's global state in line with the lease before each step."""

    def apply(self, engine: Any) -> object: ...
