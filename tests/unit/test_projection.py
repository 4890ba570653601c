"""The projection's rules for single entries (the property tests cover sequences of fills)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.statekit import as_entry, fill_of, order
from tradeops.domain import events
from tradeops.persistence.projection import Projection, ProjectionError


def _fold(*entries: dict) -> Projection:
    projection = Projection()
    for seq, entry in enumerate(entries, 1):
        projection.apply(seq, entry)
    return projection


def test_cancel_all_closes_the_open_orders_of_one_strategy_only() -> None:
    a, b = order("daily_trend-1-1"), order("mean_reversion-1-2")
    p = _fold(
        *(as_entry(events.order_accepted(o)) for o in (a, b)),
        as_entry(events.order_submitted(a, "paper-binance-1")),
        as_entry(events.order_submitted(b, "paper-binance-2")),
        as_entry(events.orders_cancelled(5, "daily_trend", 1, "strategy disabled")),
    )
    assert {cid: o.status for cid, o in p.orders.items()} == {
        a.client_order_id: "cancelled",
        b.client_order_id: "open",
    }
    assert p.meta["paper_order_seq"] == "2" and p.meta["client_order_seq"] == "2"


def test_an_abandoned_intent_is_terminal_and_a_fill_without_intent_is_an_error() -> None:
    a = order("daily_trend-1-1")
    p = _fold(
        as_entry(events.order_accepted(a)),
        as_entry(events.order_abandoned(2, a.client_order_id, a.strategy, a.venue, "not on the venue")),
    )
    assert p.open_intents() == [] and p.orders[a.client_order_id].status == "abandoned"
    with pytest.raises(ProjectionError, match="without its intent"):
        p.apply(3, as_entry(events.order_filled(fill_of(order("x-1-9"), "paper-binance-9"))))


def test_entries_written_before_ts_ms_and_acknowledged_ids_still_fold() -> None:
    a = order("daily_trend-1-1")
    legacy = [as_entry(events.order_accepted(a)), as_entry(events.order_submitted(a, "ignored"))]
    del legacy[1]["artefacts"]["order_id"]
    fill = as_entry(events.order_filled(fill_of(a, "paper-binance-1", ts=1_700_000_000_123)))
    del fill["metadata"]["ts_ms"]
    fill["timestamp"] = "2023-11-14T22:13:20.123000+00:00"
    p = _fold(as_entry(events.balances_set(0, {"USDT": "1000"}, "open")), *legacy, fill)
    (row,) = p.rows("fills")
    assert row["ts"] == 1_700_000_000_123
    assert p.balances["USDT"] == Decimal(1000) - Decimal("0.5") * Decimal("100.25") * Decimal("1.001")
