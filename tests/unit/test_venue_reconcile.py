"""The reconcile comparison (design, not wired yet): every difference found, scoped, with its
action; agreeing books give nothing; it never produces fills."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tradeops.domain.trading import Side
from tradeops.runtime.venue_reconcile import ACCOUNT, DiffKind, OrderView, reconcile


def _order(cid: str, remaining: str = "0.01", strategy: str | None = "daily_trend") -> OrderView:
    return OrderView(cid, "binance", "BTC/USDT", Side.BUY, Decimal(remaining), strategy=strategy)


def _strategy_of(cid: str) -> str | None:
    head = cid.split("-", 1)[0]
    return head if head in {"daily_trend", "mean_reversion"} else None


BAL = {("binance", "USDT"): Decimal(1000), ("binance", "BTC"): Decimal("0.5")}


def test_agreeing_books_give_a_clean_report():
    orders = [_order("daily_trend-1"), _order("mean_reversion-2", strategy="mean_reversion")]
    report = reconcile(orders, [_order(o.client_order_id, strategy=None) for o in orders], BAL, dict(BAL))
    assert report.clean and report.reducing == frozenset() and report.rows() == []


def test_each_kind_of_difference_is_scoped_and_has_an_action():
    local = [_order("daily_trend-1"), _order("daily_trend-2", "0.02")]
    venue = [
        _order("daily_trend-2", "0.015", strategy=None),
        _order("mean_reversion-9", strategy=None),
        _order("web-ui-7", strategy=None),
    ]
    venue_bal = {**BAL, ("binance", "BTC"): Decimal("0.45")}
    report = reconcile(local, venue, BAL, venue_bal, strategy_of=_strategy_of)
    got = {(d.kind, d.key, d.scope) for d in report.diffs}
    assert got == {
        (DiffKind.UNKNOWN_VENUE_ORDER, "mean_reversion-9", "mean_reversion"),
        (DiffKind.UNKNOWN_VENUE_ORDER, "web-ui-7", ACCOUNT),
        (DiffKind.MISSING_AT_VENUE, "daily_trend-1", "daily_trend"),
        (DiffKind.REMAINING_MISMATCH, "daily_trend-2", "daily_trend"),
        (DiffKind.BALANCE_MISMATCH, "binance:BTC", ACCOUNT),
    }
    assert report.reducing == {"daily_trend", "mean_reversion", ACCOUNT}
    rows = {r[1]: r for r in report.rows()}
    assert rows["binance:BTC"][2:4] == ("0.5", "0.45")
    assert rows["daily_trend-2"][2:4] == ("buy 0.02 BTC/USDT open", "buy 0.015 BTC/USDT open")
    assert "never adopted silently" in rows["web-ui-7"][4]


def test_balance_differences_within_the_tolerance_agree():
    venue_bal = {**BAL, ("binance", "BTC"): Decimal("0.49999")}
    assert reconcile([], [], BAL, venue_bal, tolerance={"BTC": Decimal("0.0001")}).clean
    assert not reconcile([], [], BAL, venue_bal).clean


@given(
    remaining=st.lists(st.decimals(min_value="0.001", max_value=10, places=3), min_size=1, max_size=8),
    changed=st.integers(min_value=0),
    delta=st.decimals(min_value="0.001", max_value=1, places=3),
)
def test_one_change_on_the_venue_side_is_exactly_one_difference(remaining, changed, delta):
    local = [_order(f"daily_trend-{i}", str(q)) for i, q in enumerate(remaining)]
    venue = list(local)
    i = changed % len(venue)
    venue[i] = _order(venue[i].client_order_id, str(venue[i].remaining + delta))
    report = reconcile(local, venue, BAL, dict(BAL))
    assert [(d.kind, d.key) for d in report.diffs] == [(DiffKind.REMAINING_MISMATCH, f"daily_trend-{i}")]
    assert reconcile(local, local, BAL, dict(BAL)).clean
