"""Arming a venue-side dead-man's switch from the trading process: a cancel-all countdown per
traded symbol (`countdownCancelAll`, the simulator's and Binance futures' shape), re-armed while
the scheduler steps. If the scheduler stops stepping (hung, SIGSTOP, killed, cut off), the venue
itself cancels the account's open orders on those symbols when the countdown runs out: no process
of ours has to be alive. Binance spot has no such switch: a venue without `dead_man_seconds` relies
on `tradeops watchdog`."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from tradeops.exchanges.ccxt_calls import VenueCaller
from tradeops.exchanges.errors import translate_vendor_errors

log = logging.getLogger(__name__)


class CountdownDeadMan:
    def __init__(self, caller: VenueCaller, symbols: Iterable[str], countdown_ms: int) -> None:
        self._caller = caller
        self._symbols = sorted(set(symbols))
        self.countdown_ms = countdown_ms
        self.rearm_ms = max(countdown_ms // 4, 250)  # several re-arms fit in one countdown
        self._armed_ms: int | None = None
        self.arms = 0

    @property
    def venue(self) -> str:
        return self._caller.venue

    def beat(self, now_ms: int) -> bool:
        """Re-arm every symbol's countdown when due; True when it was sent now."""
        if self._armed_ms is not None and now_ms - self._armed_ms < self.rearm_ms:
            return False
        self._send(self.countdown_ms)
        self._armed_ms = now_ms
        self.arms += 1
        return True

    def _send(self, countdown_ms: int) -> None:
        client: Any = self._caller.exchange
        for symbol in self._symbols:
            params = {"symbol": client.market_id(symbol), "countdownTime": countdown_ms}
            with translate_vendor_errors(self.venue):
                self._caller.call(client.request, "countdownCancelAll", ["private"], "POST", params)
