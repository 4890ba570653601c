"""`tradeops watchdog`: the kill path independent of the trading loop. Its own venue connection;
when a trigger fires (runtime/watchdog.py) it cancels the account's open orders at the venues
directly, flattens long positions if the active override says `positions: flatten`, and signs
what it did in the operations log."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tradeops.bootstrap.live_account import LiveAccount
from tradeops.domain.errors import TradeopsError
from tradeops.domain.money import ZERO
from tradeops.domain.trading import OrderRequest, Side
from tradeops.ops.audit_trail import record_operator_action
from tradeops.runtime.heartbeat import kill_switch_confirmed_ms, read_heartbeat
from tradeops.runtime.watchdog import WatchdogInputs, WatchdogLimits, trigger


@dataclass
class Watchdog:
    account: LiveAccount
    engaged: Callable[[], bool]
    positions_policy: Callable[[], str]
    clock_ms: Callable[[], int] = lambda: int(time.time() * 1000)
    engaged_since_ms: int | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)
    _seq: int = 0

    @property
    def limits(self) -> WatchdogLimits:
        cfg = self.account.cfg.watchdog
        return WatchdogLimits(int(cfg.confirm_seconds * 1000), int(cfg.stale_seconds * 1000))

    def check(self) -> dict[str, Any] | None:
        """One look; acts (and returns what it signed) when a trigger fires and orders are open."""
        now = self.clock_ms()
        engaged = self.engaged()
        if engaged and self.engaged_since_ms is None:
            self.engaged_since_ms = now
        elif not engaged:
            self.engaged_since_ms = None
        store = self.account.store
        beat = read_heartbeat(store)
        confirmed = kill_switch_confirmed_ms(store) is not None
        inputs = WatchdogInputs(
            now, engaged, self.engaged_since_ms, confirmed, beat.wall_ms if beat else None
        )
        why = trigger(inputs, self.limits)
        if why is None:
            return None
        return self._act(why, inputs, engaged)

    def _act(self, why: str, inputs: WatchdogInputs, engaged: bool) -> dict[str, Any] | None:
        router = self.account.router
        cancelled = router.cancel_everything()
        flattened = self._flatten() if engaged and self.positions_policy() == "flatten" else []
        if not cancelled and not flattened:
            return None
        age = None if inputs.heartbeat_ms is None else (inputs.now_ms - inputs.heartbeat_ms) / 1000
        entry = {
            "trigger": why,
            "cancelled": [{"venue": v, "symbol": s, "order_id": o} for v, s, o in cancelled],
            "flattened": flattened,
            "heartbeat_age_s": age,
        }
        record_operator_action(
            self.account.cfg,
            kind="watchdog",
            status="cancelled_open_orders",
            artefacts={"environment": self.account.name, "trigger": why},
            metadata=entry,
        )
        self.actions.append(entry)
        return entry

    def _flatten(self) -> list[dict[str, str]]:
        """Sell what the account's strategies hold long (spot), by market order at each venue."""
        held: dict[tuple[str, str], Decimal] = {}
        for pos in self.account.store.load_positions():
            held[(pos.venue, pos.symbol)] = held.get((pos.venue, pos.symbol), ZERO) + pos.quantity
        out = []
        for (venue, symbol), quantity in sorted(held.items()):
            if quantity <= 0:
                continue
            self._seq += 1
            now = self.clock_ms()
            order = OrderRequest(
                client_order_id=f"watchdog-{now}-{self._seq}",
                strategy="watchdog",
                venue=venue,
                symbol=symbol,
                side=Side.SELL,
                quantity=quantity,
                reference_price=ZERO,
                ts=now,
                reduce_only=True,
            )
            try:
                ack = self.account.router.venues[venue].submit(order)
            except TradeopsError as exc:
                out.append({"venue": venue, "symbol": symbol, "error": str(exc)[:200]})
                continue
            out.append(
                {"venue": venue, "symbol": symbol, "order_id": ack.order_id, "quantity": str(quantity)}
            )
        return out
