"""Gaps are found and reported (never filled); non-increasing time is an error."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tradeops.domain.errors import UserInputError
from tradeops.marketdata.gaps import Gap, find_gaps, quality
from tradeops.marketdata.series import CandleSeries

STEP = 300_000


def _series(bar_indexes: list[int], volume: float = 1.0) -> CandleSeries:
    full = CandleSeries.from_closes([100.0] * (max(bar_indexes) + 1), volume=volume)
    return full.select(np.array(bar_indexes))


def test_complete_series_has_no_gaps() -> None:
    series = _series(list(range(10)))
    assert find_gaps(series) == []
    report = quality(series)
    assert report.ok_ratio == 1.0 and report.missing_bars == 0 and report.largest_step_ms == STEP
    assert report.meets(max_gap_minutes=0, min_ok_ratio=1.0)


def test_each_hole_is_one_gap_with_its_missing_bar_count() -> None:
    series = _series([0, 1, 2, 5, 6, 10])
    start = int(series.ts[0])
    assert find_gaps(series) == [
        Gap(start + 3 * STEP, start + 5 * STEP, 2),
        Gap(start + 7 * STEP, start + 10 * STEP, 3),
    ]
    report = quality(series)
    assert report.rows == 6 and report.expected_bars == 11 and report.missing_bars == 5
    assert report.ok_ratio == pytest.approx(6 / 11)
    assert report.largest_step_ms == 4 * STEP
    assert report.largest_gap_minutes == 15.0
    assert len(series) == 6  # reported, not filled


def test_thresholds_from_a_risk_profile() -> None:
    report = quality(_series([0, 1, 2, 5, 6, 10]))
    assert report.problems(max_gap_minutes=60, min_ok_ratio=0.5) == []
    found = report.problems(max_gap_minutes=10, min_ok_ratio=0.9)
    assert len(found) == 2 and "ok ratio" in found[0] and "largest gap 15 min" in found[1]
    assert not report.meets(max_gap_minutes=10, min_ok_ratio=0.5)


def test_misaligned_step_counts_the_bars_that_should_exist() -> None:
    series = _series([0, 1, 2])
    shifted = series.select(np.array([0, 1]))
    ts = np.array([int(shifted.ts[0]), int(shifted.ts[0]) + STEP + STEP // 2], dtype=np.int64)
    odd = replace(shifted, ts=ts)
    assert find_gaps(odd)[0].missing_bars == 1


def test_non_increasing_time_is_an_error() -> None:
    series = _series([0, 1, 2])
    backwards = replace(series, ts=series.ts[::-1].copy(), source="x.csv")
    with pytest.raises(UserInputError, match=r"x.csv: timestamps must strictly increase"):
        find_gaps(backwards)


def test_zero_volume_bars_are_counted() -> None:
    assert quality(_series([0, 1, 2], volume=0.0)).zero_volume_bars == 3
