"""The projection of the log equals the account the engine keeps, for any sequence of fills; folding
in batches (the live sink) equals folding all at once (state rebuild)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.statekit import as_entry, fill_of, order
from tradeops.domain import events
from tradeops.domain.trading import Side
from tradeops.persistence.projection import Projection, ProjectionError
from tradeops.persistence.schema import PROJECTED_TABLES
from tradeops.runtime.portfolio import Portfolio

KEYS = {
    "balances": ("asset",),
    "positions": ("strategy", "venue", "symbol"),
    "orders": ("client_order_id",),
    "fills": ("log_seq",),
    "trading_state": ("scope",),
    "replay_cursor": ("series",),
    "projection_meta": ("key",),
}
quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("5"), places=3)
prices = st.decimals(min_value=Decimal("1"), max_value=Decimal("90000"), places=2)
trades = st.lists(
    st.tuples(st.sampled_from([Side.BUY, Side.SELL]), quantities, prices), min_size=1, max_size=25
)


def _history(rows: list[tuple[Side, Decimal, Decimal]]) -> tuple[list[dict], list]:
    entries = [as_entry(events.balances_set(0, {"USDT": "100000"}, "opening balance"))]
    fills = []
    for n, (side, qty, price) in enumerate(rows, 1):
        request = order(f"daily_trend-{n}-{n}", qty=str(qty), side=side, ts=n * 1000)
        fill = fill_of(request, f"paper-binance-{n}", price=str(price))
        entries += [
            as_entry(events.order_accepted(request)),
            as_entry(events.order_submitted(request, f"paper-binance-{n}")),
            as_entry(events.order_filled(fill)),
        ]
        fills.append(fill)
    return entries, fills


@settings(max_examples=60, deadline=None)
@given(trades, st.integers(min_value=1, max_value=7))
def test_projection_equals_the_engine_account_and_batching_does_not_matter(rows, batch) -> None:
    entries, fills = _history(rows)
    book = Portfolio(quote_asset="USDT", cash=Decimal(100000))
    for fill in fills:
        book.apply_fill(fill)

    whole = Projection()
    for seq, entry in enumerate(entries, 1):
        whole.apply(seq, entry)
    assert whole.balances == {"USDT": book.cash}
    assert whole.positions == book.positions

    live = Projection()
    written: dict[str, dict] = {t: {} for t in PROJECTED_TABLES}
    for start in range(0, len(entries), batch):
        for seq, entry in enumerate(entries[start : start + batch], start + 1):
            live.apply(seq, entry)
        changes, _ = live.drain()
        for table, rows_ in changes.items():
            for row in rows_:
                written[table][tuple(row[k] for k in KEYS[table])] = row
        live.compact()
    for table in PROJECTED_TABLES:
        assert sorted(written[table].values(), key=repr) == sorted(whole.rows(table), key=repr), table


@given(trades)
def test_a_repeated_id_is_an_error_never_an_overwrite(rows) -> None:
    entries, _ = _history(rows)
    projection = Projection()
    for seq, entry in enumerate(entries, 1):
        projection.apply(seq, entry)
    with pytest.raises(ProjectionError, match="daily_trend-1-1"):
        projection.apply(len(entries) + 1, entries[1])  # the first intent again
    with pytest.raises(ProjectionError, match="paper-binance-1"):
        projection.apply(len(entries) + 1, entries[2])  # its acknowledgement again
