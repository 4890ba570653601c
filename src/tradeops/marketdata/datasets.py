"""Load every candle file of a dataset (a file, or a directory of files) with filters.

Layout: files directly in the directory belong to `venue` (or the venue their name says, else
binance); files in a sub-directory belong to the venue the sub-directory is named after, which is
what `tradeops data import` and `tradeops data synthetic` write (``<dest>/<venue>/BTC_USDT-5m.csv``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from tradeops.domain.errors import UserInputError
from tradeops.marketdata.loaders import DEFAULT_VENUE, is_candle_file, load_candles
from tradeops.marketdata.names import normalize_symbol, parse_name
from tradeops.marketdata.series import CandleSeries

# Files a directory scan skips: not candles, or not tradeable prices (mark candles).
NOT_CANDLES = ("funding", "funding_rate", "quote", "quotes", "trades", "depth", "snap", "update", "mark")


def _candidates(root: Path, venue: str | None) -> Iterable[tuple[Path, str | None]]:
    for entry in sorted(root.iterdir()):
        if is_candle_file(entry):
            yield entry, venue
        elif entry.is_dir() and (venue is None or entry.name == venue):
            yield from ((f, entry.name) for f in sorted(entry.iterdir()) if is_candle_file(f))


def load_dataset(
    path: str | Path,
    symbols: Sequence[str] | None = None,
    interval: str | None = None,
    venue: str | None = None,
) -> list[CandleSeries]:
    """Candle series under `path`, keeping only `symbols` and `interval` when given."""
    root = Path(path)
    if not root.exists():
        raise UserInputError(f"{root}: no such file or directory")
    wanted = {normalize_symbol(s) for s in symbols} if symbols else None
    if root.is_file():
        series = [load_candles(root, venue=venue, interval=interval)]
    else:
        series = []
        for file, file_venue in _candidates(root, venue):
            info = parse_name(file)
            if info.kind in NOT_CANDLES:
                continue
            if wanted is not None and info.symbol is not None and info.symbol not in wanted:
                continue
            if interval is not None and info.interval is not None and info.interval != interval:
                continue
            series.append(load_candles(file, venue=file_venue or info.venue or DEFAULT_VENUE))
    kept = [
        s
        for s in series
        if (wanted is None or s.symbol in wanted) and (interval is None or s.interval == interval)
    ]
    seen: dict[tuple[str, str, str], str] = {}
    for s in kept:
        key = (s.venue, s.symbol, s.interval)
        if key in seen:
            raise UserInputError(
                f"{root}: {s.venue} {s.symbol} {s.interval} is in both {seen[key]} and {s.source}; "
                "point --data at one of them"
            )
        seen[key] = s.source
    return sorted(kept, key=lambda s: (s.venue, s.symbol, s.interval))
