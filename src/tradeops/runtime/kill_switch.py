"""The order gate at the egress point: global override files plus per-strategy disables.

`allows_new_order` runs for every order, so it is cheap: two lstat calls on the override files
(re-read only when one changed), a dict lookup, and a store read at most every refresh interval.
Because the lstat check is synchronous, an order whose check starts after an override file is in
place is refused, even before the watcher thread has noticed the file.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

from tradeops.config.overrides import OnDisable
from tradeops.domain.events import DenialReason
from tradeops.domain.trading import StrategyStatus
from tradeops.runtime.overrides import OverrideSource, OverrideState
from tradeops.runtime.ports import StateStore

log = logging.getLogger(__name__)

StatusSource = Callable[[], Mapping[str, StrategyStatus]] | StateStore


def status_active(status: StrategyStatus | None, now_ms: int) -> bool:
    """Disabled and not past its `until_ms`."""
    if status is None or not status.disabled:
        return False
    return status.until_ms is None or now_ms < status.until_ms


class KillSwitch:
    """Implements the OrderGate port."""

    def __init__(
        self,
        watcher: OverrideSource,
        statuses: StatusSource,
        clock_ms: Callable[[], int],
        *,
        refresh_ms: int | None = None,
        verify_each_order: bool = True,
        resume_pending: Callable[[], bool] | None = None,
    ) -> None:
        self.watcher = watcher
        self._load: Callable[[], Mapping[str, StrategyStatus]] = (
            statuses if callable(statuses) else statuses.strategy_statuses
        )
        self._clock_ms = clock_ms
        self.refresh_ms = watcher.poll_interval_ms if refresh_ms is None else refresh_ms
        self.verify_each_order = verify_each_order
        self._refresh_lock = threading.Lock()
        self.store_errors = 0
        self._statuses: dict[str, StrategyStatus] = dict(self._load())
        self._loaded_ms = clock_ms()
        # True while an override is gone but the event resuming trading is not recorded yet.
        self._resume_pending = resume_pending
        self._pending = False
        self._pending_checked_ms = self._loaded_ms
        self._was_active = True  # check the ledger on the first order

    # --- the per-order check ---------------------------------------------------------------------

    def allows_new_order(self, strategy: str) -> DenialReason | None:
        now = self._clock_ms()
        override = self.watcher.quick_check() if self.verify_each_order else self.watcher.state
        if override.active_at(now):
            self._was_active = True
            return DenialReason.KILL_SWITCH
        if self._resume_pending is not None and self._resume_not_recorded(now):
            return DenialReason.KILL_SWITCH
        if now - self._loaded_ms >= self.refresh_ms:
            self.refresh_statuses(now)
        if status_active(self._statuses.get(strategy), now):
            return DenialReason.STRATEGY_DISABLED
        return None

    def _resume_not_recorded(self, now: int) -> bool:
        """Checked when an override just went away, then every refresh interval while pending."""
        if self._was_active or (self._pending and now - self._pending_checked_ms >= self.refresh_ms):
            self._was_active = False
            self._pending_checked_ms = now
            try:
                self._pending = bool(self._resume_pending())  # type: ignore[misc]
            except Exception:
                self.store_errors += 1
                log.exception("kill switch: cannot read the override-event ledger; staying halted")
                self._pending = True
        return self._pending

    def refresh_statuses(self, now_ms: int | None = None) -> None:
        """Reload per-strategy statuses from the store. On a store error keep the last known ones
        (the global override does not depend on the store) and try again next interval."""
        now = self._clock_ms() if now_ms is None else now_ms
        if not self._refresh_lock.acquire(blocking=False):
            return  # another thread is refreshing
        try:
            self._loaded_ms = now
            self._statuses = dict(self._load())
        except Exception:
            self.store_errors += 1
            log.exception("kill switch: cannot read strategy statuses; keeping the last known ones")
        finally:
            self._refresh_lock.release()

    # --- what the engine and operators read ------------------------------------------------------

    @property
    def override(self) -> OverrideState:
        return self.watcher.state

    def override_active(self) -> bool:
        return self.watcher.state.active_at(self._clock_ms())

    def on_disable(self) -> OnDisable:
        """The active override's policy for open orders and positions (default: cancel, hold)."""
        return self.watcher.state.on_disable

    def override_malformed(self) -> bool:
        return self.watcher.state.malformed

    def disabled_strategies(self) -> dict[str, StrategyStatus]:
        now = self._clock_ms()
        return {name: s for name, s in self._statuses.items() if status_active(s, now)}
