"""The trading engine: strategy cycles (signal -> sizing -> egress) and market updates (fills, marks,
loss and drawdown monitors). Synchronous and deterministic; the scheduler decides when it runs."""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from tradeops.allocation.policies import CapitalPolicy, allocate
from tradeops.allocation.sizing import target_quantity
from tradeops.config.models import MANUAL_BUCKET, RiskProfile, Schedule, VenueConfig
from tradeops.domain import events
from tradeops.domain.events import DenialReason
from tradeops.domain.market import Bar
from tradeops.domain.money import ZERO, to_decimal
from tradeops.domain.trading import Fill, OrderRequest, Position, Side, Signal, TradingState
from tradeops.risk.gate import Exposure, Limits
from tradeops.runtime.curve import EquityCurve
from tradeops.runtime.egress import OrderEgress
from tradeops.runtime.portfolio import Portfolio
from tradeops.runtime.ports import DecisionSink, Exchange, OrderGate, StateStore
from tradeops.runtime.stats import RuntimeStats
from tradeops.strategies.base import Holding, MarketView, Strategy

STATS_INTERVAL_S = 0.2
CHECKPOINT_EVERY_STEPS = 500  # replay-cursor checkpoints: bounded re-work after a crash, not one per bar


class MarketSeries(Protocol):
    def view(self) -> MarketView: ...

    def interval_ms(self, venue: str, symbol: str) -> int: ...

    def instruments(self) -> list[tuple[str, str]]: ...

    def last_bar(self, venue: str, symbol: str) -> Bar | None: ...


@dataclass(frozen=True, slots=True)
class StrategySlot:
    name: str
    strategy: Strategy
    schedule: Schedule
    profile: RiskProfile


@dataclass
class CycleOutcome:
    strategy: str
    signals: int = 0
    orders: int = 0
    denied: int = 0
    skipped: str | None = None


@dataclass
class EngineSettings:
    environment: str
    account_profile: RiskProfile
    venues: Mapping[str, VenueConfig]
    policy: CapitalPolicy = CapitalPolicy.FIXED
    positions_on_kill: str = "hold"
    cancel_on_disable: bool = True
    equity_curve: list[tuple[int, float]] = field(default_factory=EquityCurve)  # bounded (downsampled)
    order_seq_start: int = 1  # account-wide client order sequence (persisted: continues after restarts)
    checkpoint_every_steps: int = CHECKPOINT_EVERY_STEPS
    live: bool = False  # orders go to a live venue (tables and reports say so)
    order_id_tag: str = ""  # cluster mode: `e<lease epoch>-`, part of every client order id


class TradingEngine:
    def __init__(
        self,
        settings: EngineSettings,
        slots: Sequence[StrategySlot],
        series: MarketSeries,
        exchange: Exchange,
        portfolio: Portfolio,
        sink: DecisionSink,
        stats: RuntimeStats,
        gate: OrderGate | None = None,
        store: StateStore | None = None,
    ) -> None:
        self.settings = settings
        self.slots = {slot.name: slot for slot in slots}
        self.series = series
        self.exchange = exchange
        self.portfolio = portfolio
        self.sink = sink
        self.stats = stats
        self.gate = gate
        self.store = store
        self.strategy_states: dict[str, TradingState] = dict.fromkeys(self.slots, TradingState.ACTIVE)
        self.global_state = TradingState.ACTIVE
        self._kill_state = TradingState.ACTIVE  # the kill switch's own view (scope kill_switch)
        self._ids = itertools.count(settings.order_seq_start)
        self._steps_since_checkpoint = 0
        self.halt_reason: str | None = None
        self._disabled: set[str] = set()
        self._allocations: dict[str, float] | None = None
        self._killed = False
        self._positions_on_kill = settings.positions_on_kill
        self._published_at = 0.0
        self._now_ms = 0
        for slot in slots:
            stats.strategy(slot.name, slot.schedule.risk_profile)
        if store is not None:
            for scope, state in store.trading_states().items():
                if scope == "global":
                    self.global_state = state
                elif scope in self.strategy_states:
                    self.strategy_states[scope] = state
        self.egress = OrderEgress(
            exchange,
            sink,
            stats,
            gate,
            limits=self._limits,
            exposure=self._exposure,
            states=lambda s: (self.strategy_states[s], self.global_state),
            reduce_allowed_when_killed=lambda: self._positions_on_kill in ("reduce", "flatten"),
            on_fills=self.book_fills,
        )

    # --- allocation ------------------------------------------------------------------------------

    def allocations(self) -> dict[str, float]:
        if self._allocations is None:
            configured = {name: slot.profile.allocation(name) for name, slot in self.slots.items()}
            self._allocations = allocate(self.settings.policy, configured, frozenset(self._disabled))
        return self._allocations

    def reconfigure(
        self,
        slots: Sequence[StrategySlot],
        account_profile: RiskProfile,
        *,
        positions_on_kill: str,
        cancel_on_disable: bool,
    ) -> None:
        """Take a new configuration at a cycle boundary (the same strategies, new parameters, risk
        profiles and kill-switch policy); the gauges show it at once."""
        if {slot.name for slot in slots} != set(self.slots):
            raise ValueError("reconfigure keeps the running strategies (adding or removing needs a restart)")
        self.slots = {slot.name: slot for slot in slots}
        self.settings.account_profile = account_profile
        self.settings.positions_on_kill = positions_on_kill
        self.settings.cancel_on_disable = cancel_on_disable
        if not self._killed:
            self._positions_on_kill = positions_on_kill
        self._allocations = None
        for slot in slots:
            self.stats.strategies[slot.name].risk_profile = slot.schedule.risk_profile
        self.publish_stats(force=True)

    def risk_bucket(self, strategy: str) -> str:
        return MANUAL_BUCKET if strategy in self._disabled else self.slots[strategy].schedule.risk_profile

    def _limits(self, order: OrderRequest) -> Limits:
        slot = self.slots[order.strategy]
        venue = self.settings.venues[order.venue]
        profile = slot.profile
        return Limits(
            allocation=self.allocations()[order.strategy],
            max_position_pct=profile.max_position_pct,
            max_open_positions=profile.max_open_positions,
            max_daily_loss_pct=profile.max_daily_loss_pct,
            hard_drawdown_pct=self.settings.account_profile.hard_drawdown_pct,
            max_leverage=self.settings.account_profile.max_leverage,
            min_quantity=to_decimal(venue.min_quantity),
            min_notional=to_decimal(venue.min_notional),
        )

    def _exposure(self, order: OrderRequest) -> Exposure:
        book = self.portfolio
        return Exposure(
            equity=book.equity(),
            peak_equity=book.peak_equity,
            gross_exposure=book.gross_exposure(),
            strategy_exposure=book.strategy_exposure(order.strategy),
            position_quantity=book.position(order.strategy, order.venue, order.symbol).quantity,
            open_positions=book.open_position_count(),
            strategy_day_pnl=book.day_pnl(order.strategy),
        )

    # --- market ----------------------------------------------------------------------------------

    def on_market(self, now_ms: int, bars: Sequence[Bar]) -> list[Fill]:
        """New bars: update marks, let pending orders fill, run the loss/drawdown monitors."""
        self._now_ms = now_ms
        for bar in bars:
            self.portfolio.mark(bar.venue, bar.symbol, bar.close)
        fills = list(self.exchange.on_market(bars, ()))
        self.book_fills(fills)
        if bars:
            self.portfolio.roll(now_ms)
            self._monitor(now_ms)
            self.settings.equity_curve.append((now_ms, float(self.portfolio.equity())))
        return fills

    def book_fills(self, fills: Sequence[Fill]) -> None:
        """Book venue fills (from an acknowledgement, a poll or the user stream) into the books,
        then record orders a live venue closed with a remainder unfilled (their final outcome)."""
        for fill in fills:
            self._book_fill(fill)
        drain = getattr(self.exchange, "drain_closed", None)
        for order in drain() if drain is not None else ():
            self.sink.record(events.order_closed(self._now_ms, order, "closed at the venue, rest unfilled"))

    def _book_fill(self, fill: Fill) -> Position:
        position = self.portfolio.apply_fill(fill)
        self.sink.record(events.order_filled(fill))
        stats = self.stats.strategies[fill.strategy]
        stats.fills += 1
        stats.fees += fill.fee_value
        return position

    def set_state(self, scope: str, new: TradingState, reason: str) -> None:
        """Change a strategy's (or `global`) trading state, recording why."""
        self._set_state(scope, new, reason)

    def _set_state(self, scope: str, new: TradingState, reason: str) -> None:
        old = self.global_state if scope == "global" else self.strategy_states[scope]
        if old is new:
            return
        if scope == "global":
            self.global_state = new
        else:
            self.strategy_states[scope] = new
        self.sink.record(events.trading_state_changed(self._now_ms, scope, old, new, reason))

    # --- the system of record --------------------------------------------------------------------

    def end_step(self, now_ms: int, *, force_checkpoint: bool = False) -> None:
        """After a scheduler step: a periodic replay-cursor checkpoint, then project what is durable."""
        self._steps_since_checkpoint += 1
        if force_checkpoint or self._steps_since_checkpoint >= self.settings.checkpoint_every_steps:
            self.checkpoint(now_ms)
        self.sink.commit()

    def checkpoint(self, now_ms: int) -> None:
        """Record the last bar processed per series (the resume point of an account run)."""
        self._steps_since_checkpoint = 0
        cursor = {}
        for venue, symbol in self.series.instruments():
            bar = self.series.last_bar(venue, symbol)
            if bar is not None:
                cursor[f"{venue} {symbol}"] = bar.ts
        self.sink.record(events.checkpoint(now_ms, cursor, str(self.portfolio.peak_equity)))

    def fail_stop(self, reason: str, *, record: bool = True) -> None:
        """Trading stops: the state can no longer be recorded (or does not match its log; then
        nothing is appended to a log that may not be this store's: `record=False`)."""
        self.halt_reason = reason
        self.stats.halt_reason = reason
        old = self.global_state
        self.global_state = TradingState.HALTED
        self.stats.global_state = TradingState.HALTED
        if record and old is not TradingState.HALTED:
            self.sink.record(
                events.trading_state_changed(self._now_ms, "global", old, TradingState.HALTED, reason)
            )

    def clear_halt(self, reason: str) -> None:
        """Lift a fail-stop once its cause is gone (a restart that brought the store level)."""
        self.halt_reason = None
        self.stats.halt_reason = None
        self._set_state("global", TradingState.ACTIVE, reason)

    def _cancel_all(self, strategy: str | None, reason: str) -> None:
        count = self.exchange.cancel_all(strategy)
        if count:
            self.sink.record(events.orders_cancelled(self._now_ms, strategy, count, reason))

    def _monitor(self, now_ms: int) -> None:
        book = self.portfolio
        allocations = self.allocations()
        equity = book.equity()
        for name, slot in self.slots.items():
            budget = to_decimal(allocations[name]) * equity
            daily_budget = to_decimal(slot.profile.max_daily_loss_pct) * budget
            day_pnl = book.day_pnl(name)
            state = self.strategy_states[name]
            if daily_budget > 0 and -day_pnl >= daily_budget and state is TradingState.ACTIVE:
                self._set_state(
                    name, TradingState.REDUCING, f"daily loss {-day_pnl:.2f} >= {daily_budget:.2f}"
                )
            elif state is TradingState.REDUCING and -day_pnl < daily_budget:
                # A new UTC day resets day PnL and so lifts the daily-loss restriction.
                self._set_state(name, TradingState.ACTIVE, "daily loss back within budget")
        peak = book.peak_equity
        limit = to_decimal(self.settings.account_profile.hard_drawdown_pct)
        if peak > 0 and limit > 0 and (peak - equity) / peak >= limit:
            self._set_state("global", TradingState.REDUCING, f"hard drawdown {(peak - equity) / peak:.4f}")
        self.publish_stats()

    def publish_stats(self, force: bool = False) -> None:
        """Copy figures into RuntimeStats for metrics; at most every 0.2 s of wall time unless forced."""
        now = time.perf_counter()
        if not force and now - self._published_at < STATS_INTERVAL_S:
            return
        self._published_at = now
        book = self.portfolio
        allocations = self.allocations()
        equity = book.equity()
        self.stats.equity = equity
        self.stats.global_state = self.effective_global_state
        for name, slot in self.slots.items():
            s = self.stats.strategies[name]
            budget = to_decimal(allocations[name]) * equity
            pnl_book = book.books[name]
            s.realized_pnl = pnl_book.realized - pnl_book.fees
            s.unrealized_pnl = book.unrealized(name)
            s.exposure = s.allocation_used = book.strategy_exposure(name)
            s.allocation_allowed = budget
            s.day_pnl = book.day_pnl(name)
            s.daily_loss_budget = to_decimal(slot.profile.max_daily_loss_pct) * budget
            base = book.initial_equity * to_decimal(slot.profile.allocation(name) or 1)
            s.drawdown_ratio = float((pnl_book.peak_pnl - book.strategy_pnl(name)) / base) if base else 0.0
            s.max_drawdown_ratio = float(pnl_book.max_drawdown / base) if base else 0.0
            s.configured_allocation = slot.profile.allocation(name)
            s.max_daily_loss_ratio = slot.profile.max_daily_loss_pct
            s.max_position_ratio = slot.profile.max_position_pct
            s.trading_state = self.strategy_states[name]
            s.disabled = name in self._disabled

    # --- strategy cycles -------------------------------------------------------------------------

    def kill_policy(self) -> tuple[bool, str]:
        """(cancel open orders?, positions: hold|reduce|flatten) of the active override, else config."""
        policy = getattr(self.gate, "on_disable", None)
        if callable(policy):
            chosen = policy()
            return bool(chosen.cancel_open_orders), str(chosen.positions)
        return self.settings.cancel_on_disable, self.settings.positions_on_kill

    def _on_kill_switch(self, killed: bool) -> None:
        """React once when the global switch flips: record it, cancel, and hold/reduce/flatten."""
        if killed == self._killed:
            return
        self._killed = killed
        if not killed:
            self._record_global(TradingState.ACTIVE, "kill switch cleared")
            return
        cancel, positions = self.kill_policy()
        self._positions_on_kill = positions
        halted = TradingState.HALTED if positions == "hold" else TradingState.REDUCING
        self._record_global(halted, f"kill switch override active (positions: {positions}, cancel: {cancel})")
        if cancel:
            self._cancel_all(None, "kill switch")
        if positions == "flatten":
            self._flatten()

    @property
    def effective_global_state(self) -> TradingState:
        """The stricter of the account's own state (risk monitors, fail-stops) and the kill switch's."""
        order = (TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED)
        return max(self.global_state, self._kill_state, key=order.index)

    def _record_global(self, state: TradingState, reason: str) -> None:
        old = self._kill_state
        self._kill_state = state
        self.stats.global_state = self.effective_global_state
        self.sink.record(events.trading_state_changed(self._now_ms, "kill_switch", old, state, reason))

    def _flatten(self) -> None:
        for slot in self.slots.values():
            for pos in self.portfolio.strategy_positions(slot.name):
                order = self._order_for(slot, pos.venue, pos.symbol, 0.0)
                if order is not None:
                    self.egress.submit_group([order])

    @property
    def kill_mode(self) -> str:
        """off, or the active override's position policy (hold stops strategies; reduce lets them shrink)."""
        return self._positions_on_kill if self._killed else "off"

    def refresh_disabled(self) -> bool:
        """Ask the kill switch who is disabled; return True when strategy cycles must not run."""
        if self.gate is None:
            return False
        killed = False
        disabled: set[str] = set()
        for name in self.slots:
            reason = self.gate.allows_new_order(name)
            if reason is DenialReason.KILL_SWITCH:
                killed = True
            elif reason is DenialReason.STRATEGY_DISABLED:
                disabled.add(name)
        newly = disabled - self._disabled
        if disabled != self._disabled:
            self._allocations = None
        self._disabled = disabled
        if self.settings.cancel_on_disable:
            for name in newly:
                self._cancel_all(name, "strategy disabled")
        self.stats.override_active = killed
        override = getattr(self.gate, "override", None)
        self.stats.override_malformed = bool(getattr(override, "malformed", False))
        self._on_kill_switch(killed)
        return killed and self.kill_mode != "reduce"

    def run_cycle(self, name: str, now_ms: int, lateness_s: float = 0.0) -> CycleOutcome:
        started = time.perf_counter()
        self._now_ms = now_ms
        slot = self.slots[name]
        stats = self.stats.strategies[name]
        stats.drift.observe(lateness_s)
        outcome = CycleOutcome(name)
        if name in self._disabled:
            outcome.skipped = "disabled"  # a disabled strategy runs no cycle at all
            return outcome
        view = self.series.view()
        signals = slot.strategy.decide(
            view, slot.schedule.venues, slot.schedule.symbols, self._holdings(slot)
        )
        signals.sort(key=lambda sig: sig.confidence, reverse=True)
        for signal in signals[: slot.schedule.max_signals]:
            self._act_on(slot, signal, outcome)
        stats.cycles += 1
        stats.last_cycle_ms = now_ms
        stats.latency.observe(time.perf_counter() - started)
        return outcome

    def _holdings(self, slot: StrategySlot) -> dict[tuple[str, str], Holding]:
        budget = to_decimal(self.allocations()[slot.name]) * self.portfolio.equity()
        share = budget / max(1, len(slot.schedule.symbols)) if budget > 0 else Decimal(1)
        held = {}
        for pos in self.portfolio.strategy_positions(slot.name):
            price = self.portfolio.price(pos.venue, pos.symbol)
            interval = max(1, self.series.interval_ms(pos.venue, pos.symbol))
            held[(pos.venue, pos.symbol)] = Holding(
                venue=pos.venue,
                symbol=pos.symbol,
                weight=float(pos.quantity * price / share),
                quantity=float(pos.quantity),
                avg_price=float(pos.avg_price),
                opened_ts=pos.opened_ts,
                bars_held=max(0, (self._now_ms - pos.opened_ts) // interval),
            )
        return held

    def _act_on(self, slot: StrategySlot, signal: Signal, outcome: CycleOutcome) -> None:
        self.stats.strategies[slot.name].signals += 1
        outcome.signals += 1
        self.sink.record(
            events.signal_emitted(signal, slot.schedule.risk_profile, self.risk_bucket(slot.name))
        )
        orders = [
            o for leg in signal.legs if (o := self._order_for(slot, leg.venue, leg.symbol, leg.target_weight))
        ]
        if not orders:
            return
        for routed in self.egress.submit_group(orders):
            if routed.denial is None:
                outcome.orders += 1
            else:
                outcome.denied += 1

    def _order_for(self, slot: StrategySlot, venue: str, symbol: str, weight: float) -> OrderRequest | None:
        book = self.portfolio
        price = book.price(venue, symbol)
        venue_cfg = self.settings.venues.get(venue)
        if price <= 0 or venue_cfg is None:
            return None
        equity = book.equity()
        held = book.position(slot.name, venue, symbol)
        working = held.quantity + self.exchange.open_quantity(slot.name, venue, symbol)
        other = book.strategy_exposure(slot.name) - held.exposure(price)
        target = target_quantity(
            target_weight=weight,
            budget=to_decimal(self.allocations()[slot.name]) * equity,
            instruments=len(slot.schedule.symbols),
            price=price,
            other_exposure=max(ZERO, other),
            max_position_notional=to_decimal(slot.profile.max_position_pct) * equity,
            quantity_step=to_decimal(venue_cfg.quantity_step),
        )
        delta = target - working
        if delta == 0 or (abs(delta) * price < to_decimal(venue_cfg.min_notional) and target != 0):
            return None
        side = Side.BUY if delta > 0 else Side.SELL
        reduce_only = (
            working != 0 and abs(target) < abs(working) and (target == 0 or (target > 0) == (working > 0))
        )
        return OrderRequest(
            client_order_id=f"{slot.name}-{self.settings.order_id_tag}{self._now_ms}-{next(self._ids)}",
            strategy=slot.name,
            venue=venue,
            symbol=symbol,
            side=side,
            quantity=abs(delta),
            reference_price=price,
            ts=self._now_ms,
            reduce_only=reduce_only,
        )
