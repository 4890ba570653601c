"""What a live scheduler does after each step besides trading: the kill-switch confirmation the
watchdog waits for, and the reconcile loop (at start and every interval). The heartbeat is the
scheduler's own (runtime/heartbeat.py)."""

from __future__ import annotations

from typing import Any

from tradeops.runtime.engine import TradingEngine
from tradeops.runtime.heartbeat import KvStore, confirm_kill_switch
from tradeops.runtime.live_reconcile import ReconcileLoop


class LiveLoop:
    def __init__(
        self,
        engine: TradingEngine,
        store: KvStore | None,
        reconcile: ReconcileLoop,
    ) -> None:
        self.engine = engine
        self.store = store
        self.reconcile = reconcile
        self._confirmed: bool | None = None

    def on_step(self, now_ms: int, _report: Any = None) -> None:
        self.reconcile.maybe_run(now_ms)
        self._confirm_kill_switch(now_ms)

    def _confirm_kill_switch(self, now_ms: int) -> None:
        """Once per flip: the step that saw the switch has already cancelled (engine.refresh_disabled
        runs before this), so the confirmation means the venue's orders are being taken down."""
        engaged = self.engine.kill_mode != "off"
        if self.store is None or engaged == self._confirmed:
            return
        if engaged and self.engine.exchange.open_order_ids():
            return  # a cancel is still pending: not confirmed yet
        confirm_kill_switch(self.store, now_ms, engaged, 0)
        self._confirmed = engaged
