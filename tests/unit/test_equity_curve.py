"""The engine's equity curve stays bounded and evenly spaced however many steps run."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tradeops.runtime.curve import EquityCurve


@given(max_points=st.integers(min_value=2, max_value=64), offered=st.integers(min_value=0, max_value=3000))
def test_bounded_evenly_spaced_downsample_of_every_point_offered(max_points: int, offered: int) -> None:
    curve = EquityCurve(max_points)
    for i in range(offered):
        curve.append((i, float(i)))
    assert len(curve) <= max_points
    assert [ts for ts, _ in curve] == list(range(0, offered, curve.stride))
    if offered > max_points:
        assert len(curve) > max_points // 4  # downsampled, not emptied


def test_short_runs_keep_every_point() -> None:
    curve = EquityCurve(100)
    for i in range(100):
        curve.append((i, 1.0))
    assert curve.stride == 1 and len(curve) == 100
