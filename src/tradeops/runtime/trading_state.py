"""The one owner of trading state: the account's own state (risk monitors, fail-stops), the kill
switch's, each strategy's, and which strategies an operator has disabled.

Every change goes through `TradingStates` and is emitted, in order, to its subscribers: the decision
log (what happened and why) and the live figures the metrics, the heartbeat and the API read. Nothing
else writes these states, so what an operator reads is what the egress point enforces.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from tradeops.domain import events
from tradeops.domain.trading import TradingState
from tradeops.runtime.ports import DecisionSink
from tradeops.runtime.stats import RuntimeStats

GLOBAL = "global"  # the account's own state
KILL_SWITCH = "kill_switch"  # the global override's state (scope of its decision-log entries)
_SEVERITY = (TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED)
_NOBODY: frozenset[str] = frozenset()


def stricter(*states: TradingState) -> TradingState:
    return max(states, key=_SEVERITY.index)


@dataclass(frozen=True, slots=True)
class StateChange:
    """A trading state moved from `old` to `new` (`record`: it goes to the decision log)."""

    ts_ms: int
    scope: str  # GLOBAL, KILL_SWITCH or a strategy name
    old: TradingState
    new: TradingState
    reason: str
    record: bool = True


Listener = Callable[["StateChange | None"], None]  # None: something other than a state moved


class TradingStates:
    def __init__(self, strategies: Iterable[str]) -> None:
        self.strategies: dict[str, TradingState] = dict.fromkeys(strategies, TradingState.ACTIVE)
        self.account = TradingState.ACTIVE
        self.kill_switch = TradingState.ACTIVE
        self.halt_reason: str | None = None  # a fail-stop's cause (state_log_mismatch, ...)
        self.disabled: frozenset[str] = _NOBODY
        self.override_active = False
        self.override_malformed = False
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` after every change (and once now, so it starts from the current state)."""
        self._listeners.append(listener)
        listener(None)

    def _emit(self, change: StateChange | None) -> None:
        for listener in self._listeners:
            listener(change)

    @property
    def effective(self) -> TradingState:
        """The account's state as egress enforces it: the stricter of its own and the kill switch's."""
        return stricter(self.account, self.kill_switch)

    def of(self, scope: str) -> TradingState:
        if scope == GLOBAL:
            return self.account
        if scope == KILL_SWITCH:
            return self.kill_switch
        return self.strategies[scope]

    def restore(self, states: Mapping[str, TradingState]) -> None:
        """Take the states the store projected from the log (no new entries: they are recorded)."""
        for scope, state in states.items():
            if scope == GLOBAL:
                self.account = state
            elif scope in self.strategies:
                self.strategies[scope] = state
        self._emit(None)

    def change(self, scope: str, new: TradingState, reason: str, ts_ms: int, *, record: bool = True) -> bool:
        """Move `scope` to `new`; False when it already was there (nothing recorded)."""
        old = self.of(scope)
        if old is new:
            return False
        if scope == GLOBAL:
            self.account = new
        elif scope == KILL_SWITCH:
            self.kill_switch = new
        else:
            self.strategies[scope] = new
        self._emit(StateChange(ts_ms, scope, old, new, reason, record))
        return True

    def fail_stop(self, reason: str, ts_ms: int, *, record: bool = True) -> None:
        """The account halts for `reason` (recorded unless the log may not be this store's)."""
        self.halt_reason = reason
        if not self.change(GLOBAL, TradingState.HALTED, reason, ts_ms, record=record):
            self._emit(None)  # already halted: the reason changed

    def clear_halt(self, reason: str, ts_ms: int) -> None:
        self.halt_reason = None
        if not self.change(GLOBAL, TradingState.ACTIVE, reason, ts_ms):
            self._emit(None)

    def set_disabled(self, disabled: frozenset[str]) -> frozenset[str]:
        """Take who is disabled now; return who was newly disabled."""
        if disabled is self.disabled or disabled == self.disabled:
            return _NOBODY
        newly = disabled - self.disabled
        self.disabled = disabled
        self._emit(None)
        return newly

    def set_override(self, active: bool, malformed: bool) -> None:
        if active != self.override_active or malformed != self.override_malformed:
            self.override_active, self.override_malformed = active, malformed
            self._emit(None)


def record_to(sink: DecisionSink) -> Listener:
    """The decision-log subscriber: each recorded change is one `trading_state` entry."""

    def listener(change: StateChange | None) -> None:
        if change is not None and change.record:
            sink.record(
                events.trading_state_changed(
                    change.ts_ms, change.scope, change.old, change.new, change.reason
                )
            )

    return listener


def show_in(stats: RuntimeStats, states: TradingStates) -> Listener:
    """The live-figures subscriber: what metrics, the heartbeat and the API read, at once on change."""

    def listener(_change: StateChange | None) -> None:
        stats.global_state = states.effective
        stats.halt_reason = states.halt_reason
        stats.override_active = states.override_active
        stats.override_malformed = states.override_malformed
        for name, state in states.strategies.items():
            figures = stats.strategies.get(name)
            if figures is not None:
                figures.trading_state = state
                figures.disabled = name in states.disabled

    return listener
