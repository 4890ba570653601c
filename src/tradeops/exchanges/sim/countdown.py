"""The simulator's venue-side dead-man's switch: `POST /api/v3/countdownCancelAll` (SIGNED,
weight 10; `symbol`, `countdownTime` in ms, 0 switches it off), in the shape of Binance's
futures endpoint of that name (Binance spot has no such switch; the simulator offers it so the
runtime's arming of one is rehearsed). Unless re-armed within `countdownTime`, every open order of
the account on that symbol is cancelled, once; the switch is then off until armed again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tradeops.exchanges.sim.book import Account, Book
from tradeops.exchanges.sim.errors import SimError, bad_param

MIN_COUNTDOWN_MS = 1_000
MAX_COUNTDOWN_MS = 600_000


@dataclass
class Countdowns:
    deadlines: dict[tuple[str, str], int] = field(default_factory=dict)  # (api key, symbol) -> ms
    armed: int = 0  # successful arm / re-arm requests
    fired: list[dict[str, Any]] = field(default_factory=list)  # what expired, and what it cancelled

    def clear(self) -> None:
        self.deadlines.clear()
        self.armed = 0
        self.fired.clear()

    def arm(self, book: Book, account: Account, params: Mapping[str, str], now_ms: int) -> dict[str, Any]:
        market = book.market.get(params.get("symbol"))
        try:
            countdown = int(params["countdownTime"])
        except KeyError:
            raise bad_param(
                "Mandatory parameter 'countdownTime' was not sent, was empty/null, or malformed."
            ) from None
        except ValueError:
            raise SimError(400, -1100, "Illegal characters found in parameter 'countdownTime'.") from None
        key = (account.api_key, market.market_id)
        if countdown == 0:
            self.deadlines.pop(key, None)
        elif MIN_COUNTDOWN_MS <= countdown <= MAX_COUNTDOWN_MS:
            self.deadlines[key] = now_ms + countdown
            self.armed += 1
        else:
            raise SimError(400, -1100, f"countdownTime must be 0 or {MIN_COUNTDOWN_MS}..{MAX_COUNTDOWN_MS}.")
        return {"symbol": market.market_id, "countdownTime": str(countdown)}

    def expire(self, book: Book, now_ms: int) -> int:
        """Cancel the open orders of every countdown past its deadline; return how many."""
        cancelled = 0
        for key, deadline in list(self.deadlines.items()):
            if deadline > now_ms:
                continue
            del self.deadlines[key]
            api_key, symbol = key
            account = book.accounts.get(api_key)
            if account is None:
                continue
            doomed = book.open_orders(account, book.market.get(symbol))
            for order in doomed:
                book.cancel(order, now_ms)
            cancelled += len(doomed)
            self.fired.append(
                {"symbol": symbol, "at_ms": now_ms, "cancelled": [o.client_order_id for o in doomed]}
            )
        return cancelled
