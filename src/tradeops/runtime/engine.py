"""The trading engine: strategy cycles (signal -> sizing -> egress) and market updates (fills, marks,
loss and drawdown monitors). Synchronous and deterministic; the scheduler decides when it runs."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from time import perf_counter

from tradeops.allocation.planning import LegBook, LegLimits, holding_share, plan_order
from tradeops.allocation.policies import CapitalPolicy, allocate
from tradeops.config.models import MANUAL_BUCKET, RiskProfile, Schedule, VenueConfig
from tradeops.domain import events
from tradeops.domain.market import Bar
from tradeops.domain.money import ZERO, to_decimal
from tradeops.domain.order_ids import client_order_id
from tradeops.domain.trading import Fill, InstrumentLimits, OrderRequest, Position, Signal, TradingState
from tradeops.risk import monitors
from tradeops.risk.gate import Exposure, Limits
from tradeops.runtime.curve import EquityCurve
from tradeops.runtime.egress import OrderEgress
from tradeops.runtime.holdings import HoldingsView
from tradeops.runtime.kill_reaction import KillSwitchReaction
from tradeops.runtime.portfolio import Portfolio
from tradeops.runtime.ports import DecisionSink, Exchange, MarketSeries, OrderGate, StateStore
from tradeops.runtime.repeat_denials import RepeatedDenials, repeat_key
from tradeops.runtime.state_controls import StateControls
from tradeops.runtime.stats import RuntimeStats
from tradeops.runtime.stats_projection import StatsProjection
from tradeops.runtime.trading_state import StateChange, TradingStates, record_to, show_in
from tradeops.strategies.base import Holding, MarketView, Strategy

_confidence = operator.attrgetter("confidence")
CHECKPOINT_EVERY_STEPS = 500  # replay-cursor checkpoints: bounded re-work after a crash, not one per bar


@dataclass(frozen=True, slots=True)
class StrategySlot:
    name: str
    strategy: Strategy
    schedule: Schedule
    profile: RiskProfile


@dataclass(slots=True)
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
    equity_curve: EquityCurve = field(default_factory=EquityCurve)  # bounded (downsampled)
    order_seq_start: int = 1  # account-wide client order sequence (persisted: continues after restarts)
    checkpoint_every_steps: int = CHECKPOINT_EVERY_STEPS
    live: bool = False  # orders go to a live venue (tables and reports say so)
    order_id_tag: str = ""  # cluster mode: `e<lease epoch, base 36>-`, part of every client order id


class TradingEngine(StateControls):
    """Trading states and the kill switch's policy: runtime/state_controls.py."""

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
        for slot in slots:
            stats.strategy(slot.name, slot.schedule.risk_profile)
        self.states = TradingStates(self.slots)  # the one owner: the log and the figures subscribe
        self._repeats = RepeatedDenials()
        self.states.subscribe(self._end_repeats)  # before the log's listener: counts precede the change
        self.states.subscribe(record_to(sink))
        self.states.subscribe(show_in(stats, self.states))
        if store is not None:
            self.states.restore(store.trading_states())
        self.figures = StatsProjection(stats, portfolio)
        self._ids = itertools.count(settings.order_seq_start)
        self._steps_since_checkpoint = 0
        self._allocations: tuple[frozenset[str], dict[str, float]] | None = None  # (disabled, split)
        self._budgets: dict[str, tuple[Decimal, dict[str, float], Decimal]] = {}  # (equity, split, budget)
        self._decimals: dict[float, Decimal] = {}
        self._venue_limits: dict[tuple[str, str], InstrumentLimits | None] = {}  # asked once each
        self._held_views = HoldingsView(self.instrument_limits, lambda v, s: self.series.interval_ms(v, s))
        self._gate_limits: dict[tuple[str, str, str], tuple[object, object, object, Limits]] = {}
        self._now_ms = 0
        self._view: tuple[int, MarketView] | None = None  # (now_ms, the strategies' view of this step)
        self.kill = KillSwitchReaction(
            gate,
            self.states,
            positions_on_kill=settings.positions_on_kill,
            cancel_on_disable=lambda: self.settings.cancel_on_disable,
            cancel_all=self._cancel_all,
            flatten=self._flatten,
            now_ms=lambda: self._now_ms,
        )
        self.egress = OrderEgress(
            exchange,
            sink,
            stats,
            gate,
            limits=self._limits,
            exposure=self._exposure,
            states=lambda s: (self.states.strategies[s], self.states.account),
            reduce_allowed_when_killed=lambda: self.kill.reduce_allowed,
            on_fills=self.book_fills,
            position=self._position_quantity,
        )
        for slot in slots:  # the venues' steps and minimums, known before the first cycle
            for venue in slot.schedule.venues:
                for symbol in slot.schedule.symbols:
                    self.instrument_limits(venue, symbol)

    # --- allocation ------------------------------------------------------------------------------

    def allocations(self) -> dict[str, float]:
        """Each strategy's fraction of equity (a disabled one's is 0); recomputed when that changes."""
        disabled = self.states.disabled
        cached = self._allocations
        if cached is not None and cached[0] is disabled:  # the owner replaces the set on a change
            return cached[1]
        if cached is None or cached[0] != disabled:
            configured = {name: slot.profile.allocation(name) for name, slot in self.slots.items()}
            cached = self._allocations = (disabled, allocate(self.settings.policy, configured, disabled))
        return cached[1]

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
        self.kill.reconfigure(positions_on_kill)
        self._allocations = None
        for slot in slots:
            self.stats.strategies[slot.name].risk_profile = slot.schedule.risk_profile
        self.publish_stats(force=True)

    def risk_bucket(self, strategy: str) -> str:
        return (
            MANUAL_BUCKET if strategy in self.states.disabled else self.slots[strategy].schedule.risk_profile
        )

    def _dec(self, value: float | int) -> Decimal:  # compiled, `float` would turn 1 into 1.0
        """A configured figure as the exact Decimal `to_decimal` gives, converted once."""
        exact = self._decimals.get(value) if type(value) is float else None  # floats only: 1 is not 1.0
        if exact is None:
            exact = to_decimal(value)
            if value != 0 and type(value) is float:  # 0.0 and -0.0 share a key but not a text
                self._decimals[value] = exact
        return exact

    def _budget(self, strategy: str) -> Decimal:
        """`monitors.strategy_budget` of the strategy, recomputed when equity or the split changes."""
        equity = self.portfolio.equity()
        split = self.allocations()
        cached = self._budgets.get(strategy)
        if cached is not None and cached[0] is equity and cached[1] is split:
            return cached[2]
        budget = monitors.strategy_budget(self._dec(split[strategy]), equity)
        self._budgets[strategy] = (equity, split, budget)
        return budget

    def instrument_limits(self, venue: str, symbol: str) -> InstrumentLimits | None:
        """The instrument's step and minimums as its venue states them (Exchange.instrument_limits:
        load_markets live, the config on paper), asked once; None: the venue does not list it."""
        key = (venue, symbol)
        if key not in self._venue_limits:
            self._venue_limits[key] = self.exchange.instrument_limits(venue, symbol)
        return self._venue_limits[key]

    def _limits(self, order: OrderRequest) -> Limits:
        """The gate's limits of the order's strategy and instrument, rebuilt when the split or a
        risk profile changes (identity: `allocations` and `reconfigure` replace them)."""
        key = (order.strategy, order.venue, order.symbol)
        split = self.allocations()
        profile = self.slots[order.strategy].profile
        account = self.settings.account_profile
        cached = self._gate_limits.get(key)
        if cached is not None and cached[0] is split and cached[1] is profile and cached[2] is account:
            return cached[3]
        venue = self.instrument_limits(order.venue, order.symbol)
        limits = Limits(
            allocation=split[order.strategy],
            max_position_pct=profile.max_position_pct,
            max_open_positions=profile.max_open_positions,
            max_daily_loss_pct=profile.max_daily_loss_pct,
            hard_drawdown_pct=account.hard_drawdown_pct,
            max_leverage=account.max_leverage,
            min_quantity=venue.min_quantity if venue is not None else ZERO,
            min_notional=venue.min_notional if venue is not None else ZERO,
        )
        self._gate_limits[key] = (split, profile, account, limits)
        return limits

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

    def _position_quantity(self, order: OrderRequest) -> Decimal:
        return self.portfolio.position(order.strategy, order.venue, order.symbol).quantity

    # --- market ----------------------------------------------------------------------------------

    def on_market(self, now_ms: int, bars: Sequence[Bar]) -> list[Fill]:
        """New bars: update marks, let pending orders fill, run the loss/drawdown monitors."""
        self._now_ms = now_ms
        self._view = None  # the market moved
        book = self.portfolio
        book.mark_bars(bars)
        fills = list(self.exchange.on_market(bars, ()))
        self.book_fills(fills)
        if bars:
            book.roll(now_ms)
            self._monitor()
            self.settings.equity_curve.offer(now_ms, book.equity())  # the float only for a point it keeps
        return fills

    def book_fills(self, fills: Sequence[Fill]) -> None:
        """Book venue fills (from an acknowledgement, a poll or the user stream) into the books,
        then record orders a live venue closed with a remainder unfilled (their final outcome)."""
        for fill in fills:
            self.portfolio.apply_fill(fill)
            self.sink.record(events.order_filled(fill))
            self.figures.book_fill(fill)
        for order in self.exchange.drain_closed():
            self.sink.record(events.order_closed(self._now_ms, order, "closed at the venue, rest unfilled"))

    def _monitor(self) -> None:
        """The daily-loss and drawdown monitors (risk/monitors.py) applied to the trading state."""
        book = self.portfolio
        states = self.states
        strategies, day_pnl_of, budget_of, dec = states.strategies, book.day_pnl, self._budget, self._dec
        for name, slot in self.slots.items():
            state = strategies[name]
            if state is TradingState.ACTIVE:
                day_pnl = day_pnl_of(name)
                if day_pnl >= 0:
                    continue  # no loss today: monitors.daily_loss has nothing to say, whatever the budget
            elif state is TradingState.REDUCING:
                day_pnl = day_pnl_of(name)
            else:
                continue  # not a state the daily-loss monitor changes
            budget = monitors.daily_loss_budget(budget_of(name), dec(slot.profile.max_daily_loss_pct))
            verdict = monitors.daily_loss(name, state, day_pnl, budget)
            if verdict is not None:
                states.change(verdict.scope, verdict.state, verdict.reason, self._now_ms)
        equity = book.equity()
        if states.account is TradingState.ACTIVE and equity < book.peak_equity:  # else no drawdown verdict
            limit = self._dec(self.settings.account_profile.hard_drawdown_pct)
            verdict = monitors.hard_drawdown(states.account, book.peak_equity, equity, limit)
            if verdict is not None:
                states.change(verdict.scope, verdict.state, verdict.reason, self._now_ms)
        self.publish_stats()

    def publish_stats(self, force: bool = False) -> None:
        """Copy figures into RuntimeStats for metrics; at most every 0.2 s of wall time unless forced."""
        if self.figures.due(force):
            profiles = {name: slot.profile for name, slot in self.slots.items()}
            self.figures.publish(profiles, self.allocations())

    # --- the system of record --------------------------------------------------------------------

    def end_step(self, now_ms: int, *, force_checkpoint: bool = False) -> None:
        """After a scheduler step: a periodic replay-cursor checkpoint, then project what is durable."""
        self._steps_since_checkpoint += 1
        if force_checkpoint or self._steps_since_checkpoint >= self.settings.checkpoint_every_steps:
            self.checkpoint(now_ms)
        self.sink.commit()

    def checkpoint(self, now_ms: int) -> None:
        """Record the last bar processed per series (the resume point of an account run), after
        the repeated denials counted since the last one."""
        self._steps_since_checkpoint = 0
        for record in self._repeats.drain(now_ms):
            self.sink.record(record)
        cursor = {}
        for venue, symbol in self.series.instruments():
            bar = self.series.last_bar(venue, symbol)
            if bar is not None:
                cursor[f"{venue} {symbol}"] = bar.ts
        self.sink.record(events.checkpoint(now_ms, cursor, str(self.portfolio.peak_equity)))

    # --- the kill switch and operator disables (runtime/kill_reaction.py) --------------------------

    def _end_repeats(self, change: StateChange | None) -> None:
        """A state moved: repeated denials so far are logged before the change (unless the change
        itself is not to be logged: a log that may not be this store's), and the episode ends."""
        self._repeats.end_episode()
        if change is not None:
            records = self._repeats.drain(self._now_ms)
            if change.record:
                for record in records:
                    self.sink.record(record)

    def refresh_disabled(self) -> bool:
        """Ask the kill switch who is disabled; return True when strategy cycles must not run."""
        return self.kill.refresh(self.slots)

    def _flatten(self) -> None:
        for slot in self.slots.values():
            for pos in self.portfolio.strategy_positions(slot.name):
                order = self._order_for(slot, pos.venue, pos.symbol, 0.0)
                if order is not None:
                    self.egress.submit_group([order])

    def _cancel_all(self, strategy: str | None, reason: str) -> None:
        count = self.exchange.cancel_all(strategy)
        if count:
            self.sink.record(events.orders_cancelled(self._now_ms, strategy, count, reason))

    # --- strategy cycles -------------------------------------------------------------------------

    def run_cycle(self, name: str, now_ms: int, lateness_s: float = 0.0) -> CycleOutcome:
        started = perf_counter()
        self._now_ms = now_ms
        slot = self.slots[name]
        stats = self.stats.strategies[name]
        stats.drift.observe(lateness_s)
        outcome = CycleOutcome(name)
        if name in self.states.disabled:
            outcome.skipped = "disabled"  # a disabled strategy runs no cycle at all
            return outcome
        schedule = slot.schedule
        held = self.portfolio.open_positions(name)
        holdings = self._holdings(slot, held) if held else {}
        view = self._view
        if view is None or view[0] != now_ms:  # one view per step: its strategies see the same market
            view = self._view = (now_ms, self.series.view())
        signals = slot.strategy.decide(view[1], schedule.venues, schedule.symbols, holdings)
        if signals:
            if len(signals) > 1:
                signals.sort(key=_confidence, reverse=True)
            for signal in signals[: slot.schedule.max_signals]:
                self._act_on(slot, signal, outcome)
        stats.cycles += 1
        stats.last_cycle_ms = now_ms
        stats.latency.observe(perf_counter() - started)
        return outcome

    def _holdings(
        self, slot: StrategySlot, open_positions: Mapping[tuple[str, str], Position]
    ) -> dict[tuple[str, str], Holding]:
        """What the strategy holds: one `Holding` per open position (`book.open_positions`, not
        empty), at the current marks."""
        share = holding_share(self._budget(slot.name), len(slot.schedule.symbols))
        return self._held_views.holdings(slot.name, open_positions, share, self.portfolio, self._now_ms)

    def _act_on(self, slot: StrategySlot, signal: Signal, outcome: CycleOutcome) -> None:
        stats = self.stats.strategies[slot.name]
        stats.signals += 1
        outcome.signals += 1
        orders = [
            o for leg in signal.legs if (o := self._order_for(slot, leg.venue, leg.symbol, leg.target_weight))
        ]
        denials = self.egress.check_group(orders)
        key = repeat_key(slot.name, orders, denials)
        if key is not None and self._repeats.is_repeat(key, self._now_ms):
            self.egress.count_denials(orders, denials)  # in the metrics; in the log as a count
            outcome.denied += len(orders)
            return
        self.sink.record(
            events.signal_emitted(signal, slot.schedule.risk_profile, self.risk_bucket(slot.name))
        )
        if not orders:
            return
        for routed in self.egress.submit_group(orders, denials):
            if routed.denial is None:
                outcome.orders += 1
            else:
                outcome.denied += 1

    def _leg_limits(self, slot: StrategySlot, venue: InstrumentLimits) -> LegLimits:
        return LegLimits(
            budget=self._budget(slot.name),
            instruments=len(slot.schedule.symbols),
            max_position_notional=self._dec(slot.profile.max_position_pct) * self.portfolio.equity(),
            quantity_step=venue.step,
            min_notional=venue.min_notional,
            min_quantity=venue.min_quantity,
        )

    def _order_for(self, slot: StrategySlot, venue: str, symbol: str, weight: float) -> OrderRequest | None:
        """Size one leg (allocation/planning.py) into an order, or None when there is nothing to do."""
        book = self.portfolio
        price = book.price(venue, symbol)
        venue_limits = self.instrument_limits(venue, symbol)
        if price <= 0 or venue_limits is None:
            return None
        name = slot.name
        held = book.position(name, venue, symbol)
        leg = LegBook(
            price,
            held.quantity,
            self.exchange.open_quantity(name, venue, symbol),
            book.strategy_exposure(name) - held.exposure(price),
        )
        planned = plan_order(weight, leg, self._leg_limits(slot, venue_limits))
        if planned is None:
            return None
        now = self._now_ms
        return OrderRequest(
            client_order_id(name, self.settings.order_id_tag, now, next(self._ids)),
            name,
            venue,
            symbol,
            planned.side,
            planned.quantity,
            price,
            now,
            reduce_only=planned.reduce_only,
        )
