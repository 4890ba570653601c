"""How the engine obeys the order gate each step: which strategies an operator disabled (their open
orders cancelled when they go), and, once per flip of the global kill switch, the trading state it
records and what happens to open orders and positions (hold, reduce or flatten)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tradeops.domain.events import DenialReason
from tradeops.domain.trading import TradingState
from tradeops.runtime.ports import OrderGate
from tradeops.runtime.trading_state import KILL_SWITCH, TradingStates

_NOBODY: frozenset[str] = frozenset()


class KillSwitchReaction:
    def __init__(
        self,
        gate: OrderGate | None,
        states: TradingStates,
        *,
        positions_on_kill: str,
        cancel_on_disable: Callable[[], bool],
        cancel_all: Callable[[str | None, str], None],
        flatten: Callable[[], None],
        now_ms: Callable[[], int],
    ) -> None:
        self.gate = gate
        self.states = states
        self.configured_positions = positions_on_kill
        self.positions = positions_on_kill  # the policy in force (the override's while killed)
        self.killed = False
        self._cancel_on_disable = cancel_on_disable
        self._cancel_all = cancel_all
        self._flatten = flatten
        self._now_ms = now_ms

    def policy(self) -> tuple[bool, str]:
        """(cancel open orders?, positions: hold|reduce|flatten) of the active override, else config."""
        chosen = self.gate.on_disable() if self.gate is not None else None
        if chosen is not None:
            return bool(chosen.cancel_open_orders), str(chosen.positions)
        return self._cancel_on_disable(), self.configured_positions

    def reconfigure(self, positions_on_kill: str) -> None:
        self.configured_positions = positions_on_kill
        if not self.killed:
            self.positions = positions_on_kill

    @property
    def mode(self) -> str:
        """off, or the active override's position policy (hold stops strategies; reduce lets them shrink)."""
        return self.positions if self.killed else "off"

    @property
    def reduce_allowed(self) -> bool:
        return self.positions in ("reduce", "flatten")

    def refresh(self, strategies: Iterable[str]) -> bool:
        """Ask the gate who is disabled; return True when strategy cycles must not run."""
        gate = self.gate
        if gate is None:
            return False
        killed = False
        disabled: set[str] = set()
        allows = gate.allows_new_order
        for name in strategies:
            reason = allows(name)
            if reason is None:
                continue
            if reason is DenialReason.KILL_SWITCH:
                killed = True
            elif reason is DenialReason.STRATEGY_DISABLED:
                disabled.add(name)
        newly = self.states.set_disabled(frozenset(disabled) if disabled else _NOBODY)
        if newly and self._cancel_on_disable():
            for name in newly:
                self._cancel_all(name, "strategy disabled")
        self.states.set_override(killed, gate.override_malformed())
        if killed != self.killed:
            self._flip(killed)
        return killed and self.mode != "reduce"

    def _flip(self, killed: bool) -> None:
        """React once when the global switch flips: record it, cancel, and hold/reduce/flatten."""
        if killed == self.killed:
            return
        self.killed = killed
        if not killed:
            self.states.change(KILL_SWITCH, TradingState.ACTIVE, "kill switch cleared", self._now_ms())
            return
        cancel, positions = self.policy()
        self.positions = positions
        halted = TradingState.HALTED if positions == "hold" else TradingState.REDUCING
        reason = f"kill switch override active (positions: {positions}, cancel: {cancel})"
        self.states.change(KILL_SWITCH, halted, reason, self._now_ms())
        if cancel:
            self._cancel_all(None, "kill switch")
        if positions == "flatten":
            self._flatten()
