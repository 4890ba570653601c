"""Use cases behind `tradeops data`: import (validate + normalise), inspect, write synthetic data.

Normalised files are CSV with header ``timestamp,open,high,low,close,volume`` (epoch ms, bar open
time; values written with round-trip precision), stored as ``<dest>/<venue>/<BASE>_<QUOTE>-<interval>.csv``
and written atomically.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tradeops.domain.errors import UserInputError
from tradeops.fsutil import atomic_write_text
from tradeops.marketdata.datasets import load_dataset
from tradeops.marketdata.gaps import DataQualityReport, quality
from tradeops.marketdata.loaders import load_candles
from tradeops.marketdata.names import file_stem_for
from tradeops.marketdata.series import CandleSeries
from tradeops.marketdata.synthetic import synthetic_market

CSV_HEADER = "timestamp,open,high,low,close,volume"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Inspected:
    series: CandleSeries
    report: DataQualityReport
    written: Path | None = None


def candles_csv(series: CandleSeries) -> str:
    lines = [CSV_HEADER]
    lines.extend(
        f"{t},{o!r},{h!r},{lo!r},{c!r},{v!r}"
        for t, o, h, lo, c, v in zip(
            series.ts.tolist(),
            series.open.tolist(),
            series.high.tolist(),
            series.low.tolist(),
            series.close.tolist(),
            series.volume.tolist(),
            strict=True,
        )
    )
    return "\n".join(lines) + "\n"


def normalized_path(dest: str | Path, series: CandleSeries) -> Path:
    if not _SAFE_NAME.match(series.venue):
        raise UserInputError(f"--venue {series.venue!r}: use letters, digits, '-', '_' or '.'")
    stem = file_stem_for(series.symbol, series.interval)
    if not _SAFE_NAME.match(stem):
        raise UserInputError(f"--symbol {series.symbol!r}: cannot be used in a file name; use BASE/QUOTE")
    return Path(dest) / series.venue / f"{stem}.csv"


def write_candles(series: CandleSeries, dest: str | Path) -> Path:
    """Write `series` as normalised CSV under `dest` (atomically); return the file written."""
    return atomic_write_text(normalized_path(dest, series), candles_csv(series))


def _load(src: str | Path, venue: str | None, symbol: str | None, interval: str | None) -> list[CandleSeries]:
    path = Path(src)
    if path.is_dir():
        found = load_dataset(path, symbols=[symbol] if symbol else None, interval=interval, venue=venue)
        if not found:
            raise UserInputError(f"{path}: no candle files found (.csv, .csv.gz, .json, .json.gz)")
        return found
    return [load_candles(path, venue=venue, symbol=symbol, interval=interval)]


def inspect_candles(
    src: str | Path, venue: str | None = None, symbol: str | None = None, interval: str | None = None
) -> list[Inspected]:
    """Validate a candle file (or every file of a directory) and report rows, range and gaps."""
    return [Inspected(s, quality(s)) for s in _load(src, venue, symbol, interval)]


def import_candles(
    src: str | Path,
    dest: str | Path,
    venue: str | None = None,
    symbol: str | None = None,
    interval: str | None = None,
) -> list[Inspected]:
    """Validate `src` and write each series as normalised CSV under `dest`. Gaps are reported,
    not filled: the written file has exactly the bars of the source."""
    out = []
    for item in inspect_candles(src, venue, symbol, interval):
        out.append(Inspected(item.series, item.report, write_candles(item.series, dest)))
    return out


def write_synthetic(
    out: str | Path,
    n_bars: int,
    symbols: Sequence[str],
    venues: Sequence[str],
    interval: str = "5m",
    seed: int = 7,
) -> list[Inspected]:
    """Generate the synthetic market and write it in the normalised layout."""
    try:
        market = synthetic_market(symbols, venues, n_bars, interval, seed=seed)
    except ValueError as exc:
        raise UserInputError(f"synthetic market: {exc}") from None
    return [Inspected(s, quality(s), write_candles(s, out)) for s in market]
