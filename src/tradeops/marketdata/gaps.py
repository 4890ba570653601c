"""Gap detection and a data-quality report. Gaps are reported, never filled."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tradeops.domain.errors import UserInputError
from tradeops.marketdata.series import CandleSeries


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing bars: the first missing open time, the next present bar's open time, and how many."""

    start_ms: int
    end_ms: int
    missing_bars: int

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True)
class DataQualityReport:
    venue: str
    symbol: str
    interval: str
    source: str
    rows: int
    first_ms: int  # open time of the first bar
    last_ms: int  # open time of the last bar
    expected_bars: int  # bars the range would hold without gaps
    gaps: tuple[Gap, ...]
    zero_volume_bars: int
    largest_step_ms: int  # biggest distance between consecutive bars

    @property
    def missing_bars(self) -> int:
        return sum(g.missing_bars for g in self.gaps)

    @property
    def ok_ratio(self) -> float:
        """Present bars / expected bars over the covered range (1.0 = no gaps)."""
        return self.rows / self.expected_bars if self.expected_bars else 0.0

    @property
    def largest_gap_minutes(self) -> float:
        return max((g.duration_ms for g in self.gaps), default=0) / 60_000.0

    def problems(self, max_gap_minutes: float, min_ok_ratio: float) -> list[str]:
        """What breaks a risk profile's `data_quality` thresholds (empty when the data is fine)."""
        found = []
        if self.ok_ratio < min_ok_ratio:
            found.append(f"ok ratio {self.ok_ratio:.4f} < {min_ok_ratio}")
        if self.largest_gap_minutes > max_gap_minutes:
            found.append(f"largest gap {self.largest_gap_minutes:.0f} min > {max_gap_minutes} min")
        return found

    def meets(self, max_gap_minutes: float, min_ok_ratio: float) -> bool:
        return not self.problems(max_gap_minutes, min_ok_ratio)


def find_gaps(series: CandleSeries) -> list[Gap]:
    """Every run of missing bars; non-increasing timestamps are an error."""
    ts = series.ts
    if len(ts) < 2:
        return []
    steps = np.diff(ts)
    bad = np.flatnonzero(steps <= 0)
    if bad.size:
        i = int(bad[0])
        raise UserInputError(
            f"{series.source}: timestamps must strictly increase; bar {i + 2} ({int(ts[i + 1])}) "
            f"is not after bar {i + 1} ({int(ts[i])})"
        )
    interval = series.interval_ms
    gaps = []
    for i in np.flatnonzero(steps > interval).tolist():
        step = int(steps[i])
        missing = -(-step // interval) - 1  # ceil(step / interval) - 1: bars that should exist
        gaps.append(Gap(int(ts[i]) + interval, int(ts[i + 1]), missing))
    return gaps


def quality(series: CandleSeries) -> DataQualityReport:
    gaps = find_gaps(series)
    rows = len(series)
    first = int(series.ts[0]) if rows else 0
    last = int(series.ts[-1]) if rows else 0
    steps = np.diff(series.ts)
    return DataQualityReport(
        venue=series.venue,
        symbol=series.symbol,
        interval=series.interval,
        source=series.source,
        rows=rows,
        first_ms=first,
        last_ms=last,
        expected_bars=rows + sum(g.missing_bars for g in gaps),
        gaps=tuple(gaps),
        zero_volume_bars=int(np.count_nonzero(series.volume == 0)),
        largest_step_ms=int(steps.max()) if steps.size else 0,
    )
