"""What a live scheduler does after each step besides trading: the heartbeat, the kill-switch
confirmation the watchdog waits for, and the reconcile loop (at start and every interval)."""

from __future__ import annotations

import logging
import os
from typing import Any

from tradeops.runtime.engine import TradingEngine
from tradeops.runtime.heartbeat import Heartbeat, KvStore, confirm_kill_switch, write_heartbeat
from tradeops.runtime.live_reconcile import ReconcileLoop

log = logging.getLogger(__name__)


class LiveLoop:
    def __init__(
        self,
        engine: TradingEngine,
        store: KvStore | None,
        reconcile: ReconcileLoop,
        run_id: str,
        heartbeat_ms: int,
    ) -> None:
        self.engine = engine
        self.store = store
        self.reconcile = reconcile
        self.run_id = run_id
        self.heartbeat_ms = heartbeat_ms
        self._beat_ms = -(10**15)
        self._confirmed: bool | None = None

    def on_step(self, now_ms: int, _report: Any = None) -> None:
        self.reconcile.maybe_run(now_ms)
        self._confirm_kill_switch(now_ms)
        if self.store is not None and now_ms - self._beat_ms >= self.heartbeat_ms:
            self._beat_ms = now_ms
            try:
                write_heartbeat(self.store, Heartbeat(now_ms, self.run_id, os.getpid()))
            except Exception as exc:
                log.warning("heartbeat not written: %s", exc)

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
