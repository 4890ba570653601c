"""What an operator adopted into a live account's books (the store's kv), read by both
reconciliations (the scheduler's loop and `tradeops reconcile`):

- adopted venue orders (kv `live_adopted_orders`, by client order id): orders on the account that
  tradeops did not place, accepted by a signed command; they are no longer an
  `unknown_venue_order`. Their fills are not booked to any strategy: what they move shows as a
  balance difference, adopted the same way.
- adopted balances: the opening balance (kv `live_opening_balances`) of a (venue, asset) shifted
  so the expected balance equals what the venue holds (a deposit, a manual trade).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from tradeops.bootstrap.live_start import OPENING_KEY
from tradeops.domain.money import ZERO, decimal_str

ADOPTED_KEY = "live_adopted_orders"


def adopted_orders(store: Any) -> dict[str, dict[str, str]]:
    raw = store.kv_get(ADOPTED_KEY)
    return dict(json.loads(raw)) if raw else {}


def adopted_ids(store: Any) -> frozenset[str]:
    return frozenset(adopted_orders(store))


def record_adopted_order(store: Any, client_order_id: str, details: dict[str, str]) -> None:
    orders = adopted_orders(store)
    orders[client_order_id] = details
    store.kv_set(ADOPTED_KEY, json.dumps(orders, sort_keys=True))


def shift_opening_balance(store: Any, venue: str, asset: str, delta: Decimal) -> Decimal:
    """Add `delta` to the recorded opening balance of (venue, asset); return the new opening."""
    raw = store.kv_get(OPENING_KEY)
    opening: dict[str, dict[str, str]] = json.loads(raw) if raw else {}
    before = Decimal(opening.get(venue, {}).get(asset, "0"))
    after = before + delta
    opening.setdefault(venue, {})[asset] = decimal_str(after if after != 0 else ZERO)
    store.kv_set(OPENING_KEY, json.dumps(opening, sort_keys=True))
    return after
