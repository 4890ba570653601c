"""The equity curve the engine keeps for reports: bounded, so memory stays flat in the bars run.

It holds every point until `max_points`, then keeps every second one and from then on records
only every second point offered (then every fourth, ...): an evenly spaced downsample of the whole
run with at most `max_points` points.
"""

from __future__ import annotations

from decimal import Decimal

Point = tuple[int, float]
MAX_POINTS = 20_000


class EquityCurve(list[Point]):
    """A list of (ts_ms, equity) points whose `append` downsamples past `max_points`."""

    def __init__(self, max_points: int = MAX_POINTS) -> None:
        super().__init__()
        self.max_points = max(2, max_points)
        self.stride = 1
        self._offered = 0

    def append(self, point: Point) -> None:
        self.offer(*point)

    def offer(self, ts_ms: int, equity: Decimal | float) -> None:
        """`append((ts_ms, float(equity)))`, converting only a point the downsample keeps."""
        offered, self._offered = self._offered, self._offered + 1
        if offered % self.stride:
            return
        super().append((ts_ms, float(equity)))
        if len(self) > self.max_points:
            del self[1::2]
            self.stride *= 2
