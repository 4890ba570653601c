"""Invariants of the read API's pagination and the equity curve's downsampling."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tradeops.ops.read_models import MAX_PAGE, EquityPoint, PageQuery, paginate
from tradeops.ops.read_portfolio import downsample


@given(st.lists(st.integers(), max_size=300), st.integers(1, MAX_PAGE))
def test_walking_the_pages_yields_every_item_once_in_order(items: list[int], limit: int) -> None:
    seen: list[int] = []
    offset: int | None = 0
    for _ in range(len(items) + 2):
        if offset is None:
            break
        chunk, info = paginate(items, PageQuery(limit=limit, offset=offset))
        assert info.total == len(items) and len(chunk) <= limit
        seen.extend(chunk)
        offset = info.next_offset
    assert offset is None and seen == items


@given(st.integers(0, 2000), st.integers(2, 300))
def test_downsampling_keeps_the_ends_and_the_order(count: int, max_points: int) -> None:
    points = [EquityPoint(f"t{i:05d}", str(i)) for i in range(count)]
    kept = downsample(points, max_points)
    assert len(kept) == min(count, max_points)
    where = [int(p.equity) for p in kept]
    assert where == sorted(set(where))  # a subsequence of the points, no repeats
    if points:
        assert kept[0] == points[0] and kept[-1] == points[-1]


def test_a_page_outside_the_bounds_is_refused() -> None:
    for limit, offset in ((0, 0), (MAX_PAGE + 1, 0), (1, -1)):
        try:
            PageQuery(limit=limit, offset=offset)
        except ValueError:
            continue
        raise AssertionError((limit, offset))


def test_load_test_reports_are_read_where_the_load_test_writes_them() -> None:
    from tradeops.ops.loadtest.runner import REPORT_DIR as WRITTEN
    from tradeops.ops.read_audit import REPORT_DIR as READ

    assert READ == WRITTEN
