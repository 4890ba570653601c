"""The engine's trading-state and kill-switch controls: thin views of their owners (the trading
states, runtime/trading_state.py, and the kill-switch reaction, runtime/kill_reaction.py), kept
apart from the engine's market and strategy-cycle code."""

from __future__ import annotations

from collections.abc import Mapping

from tradeops.domain.trading import TradingState
from tradeops.runtime.kill_reaction import KillSwitchReaction
from tradeops.runtime.trading_state import TradingStates


class StateControls:
    """What TradingEngine exposes of its trading states and its kill-switch policy."""

    states: TradingStates
    kill: KillSwitchReaction
    _now_ms: int

    @property
    def global_state(self) -> TradingState:
        """The account's own state (risk monitors, fail-stops), without the kill switch's."""
        return self.states.account

    @property
    def strategy_states(self) -> Mapping[str, TradingState]:
        return self.states.strategies

    @property
    def effective_global_state(self) -> TradingState:
        """The stricter of the account's own state and the kill switch's."""
        return self.states.effective

    @property
    def halt_reason(self) -> str | None:
        return self.states.halt_reason

    def set_state(self, scope: str, new: TradingState, reason: str) -> None:
        """Change a strategy's (or `global`) trading state, recording why."""
        self.states.change(scope, new, reason, self._now_ms)

    def fail_stop(self, reason: str, *, record: bool = True) -> None:
        """Trading stops: the state can no longer be recorded (or does not match its log; then
        nothing is appended to a log that may not be this store's: `record=False`)."""
        self.states.fail_stop(reason, self._now_ms, record=record)

    def clear_halt(self, reason: str) -> None:
        """Lift a fail-stop once its cause is gone (a restart that brought the store level)."""
        self.states.clear_halt(reason, self._now_ms)

    def kill_policy(self) -> tuple[bool, str]:
        """(cancel open orders?, positions: hold|reduce|flatten) of the active override, else config."""
        return self.kill.policy()

    @property
    def kill_mode(self) -> str:
        """off, or the active override's position policy (hold stops strategies; reduce lets them shrink)."""
        return self.kill.mode
