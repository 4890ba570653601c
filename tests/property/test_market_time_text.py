"""MarketTimeText (the decision-log sink's and the journal's market_time) is `datetime.isoformat()`
of the epoch ms in UTC for any sequence of times: repeats, steps within a second, jumps back."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from tradeops.domain.clock import MarketTimeText

START = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def reference(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms // 1000, tz=UTC).replace(microsecond=ts_ms % 1000 * 1000).isoformat()


@given(st.lists(st.integers(min_value=-3_000, max_value=3_000) | st.integers(0, 10**13), max_size=40))
def test_market_time_text_is_the_isoformat(steps):
    text, ts = MarketTimeText(), START
    for step in steps:
        ts = step if step > 3_000 else max(ts + step, 0)
        assert text(ts) == reference(ts)
    assert text(0) == reference(0) and text(999) == reference(999)
