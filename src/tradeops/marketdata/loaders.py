"""Candle loaders: OHLCV CSV (ms, s or date-time timestamps) and freqtrade JSON / JSON.gz arrays.

Every problem with a file is a UserInputError naming the file and what is wrong. Data are validated
(strictly increasing timestamps, finite positive prices, high >= low), never repaired; gaps are
reported by `tradeops.marketdata.gaps`, not filled.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tradeops.domain.errors import UserInputError
from tradeops.domain.market import interval_to_ms
from tradeops.marketdata.names import KNOWN_VENUES, interval_label, normalize_symbol, parse_name
from tradeops.marketdata.series import COLUMNS, CandleSeries, FloatArray, IntArray

__all__ = ["CandleSeries", "is_candle_file", "load_candles"]

_TIME_COLUMNS = ("timestamp", "time", "datetime", "date", "open_time", "ts")
DEFAULT_VENUE = "binance"


def is_candle_file(path: Path) -> bool:
    name = path.name.lower()
    return path.is_file() and name.endswith((".csv", ".csv.gz", ".json", ".json.gz"))


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _to_ms(raw: Sequence[str], path: Path) -> IntArray:
    """Integer epoch timestamps (s, ms, us or ns) or ISO date-times (naive = UTC) -> epoch ms."""
    try:
        values = np.array(raw, dtype=np.float64)
    except ValueError:
        out = np.empty(len(raw), dtype=np.int64)
        for i, text in enumerate(raw):
            try:
                parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
            except ValueError:
                raise UserInputError(
                    f"{path}: row {i + 1}: timestamp {text!r} is neither epoch time nor ISO 8601"
                ) from None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            out[i] = int(parsed.timestamp() * 1000)
        return out
    return _scale_epoch(values, path)


def _scale_epoch(values: FloatArray, path: Path) -> IntArray:
    if values.size == 0:
        return values.astype(np.int64)
    if not np.all(np.isfinite(values)):
        raise UserInputError(
            f"{path}: row {int(np.argmin(np.isfinite(values))) + 1}: timestamp is not a number"
        )
    biggest = float(np.max(np.abs(values)))
    if biggest < 1e11:  # seconds
        values = values * 1000.0
    elif biggest >= 1e17:  # nanoseconds
        values = values / 1e6
    elif biggest >= 1e14:  # microseconds
        values = values / 1e3
    return np.round(values).astype(np.int64)


def _read_csv(path: Path) -> tuple[IntArray, dict[str, FloatArray]]:
    with _open_text(path) as handle:
        rows = list(csv.reader(handle))
    rows = [r for r in rows if r and any(cell.strip() for cell in r)]
    if not rows:
        raise UserInputError(f"{path}: the file is empty; expected timestamp,open,high,low,close,volume")
    first = [cell.strip().lower() for cell in rows[0]]
    if any(c in ("bid_open", "ask_open", "bid", "ask") for c in first):
        raise UserInputError(f"{path}: holds quotes (bid/ask columns), not candles; give an OHLCV file")
    if "price" in first and "open" not in first:
        raise UserInputError(
            f"{path}: holds trades or book levels (price column), not candles; give an OHLCV file"
        )
    try:
        float(first[0])
        header, body = ["timestamp", *COLUMNS], rows  # no header: the standard column order
    except ValueError:
        header, body = first, rows[1:]
    time_col = next((header.index(c) for c in _TIME_COLUMNS if c in header), None)
    missing = [c for c in COLUMNS if c not in header]
    if time_col is None or missing:
        wanted = ["timestamp"] if time_col is None else []
        raise UserInputError(
            f"{path}: missing column(s) {', '.join(wanted + missing)}; header is {','.join(header)[:80]!r}"
        )
    if not body:
        raise UserInputError(f"{path}: header only, no candles")
    width = len(header)
    for i, row in enumerate(body):
        if len(row) < width:
            raise UserInputError(f"{path}: line {i + 2}: {len(row)} fields, header has {width}")
    ts = _to_ms([r[time_col] for r in body], path)
    columns: dict[str, FloatArray] = {}
    for name in COLUMNS:
        index = header.index(name)
        raw = [r[index].strip() for r in body]
        try:
            columns[name] = np.array([x if x else "nan" for x in raw], dtype=np.float64)
        except ValueError:
            bad = next(i for i, x in enumerate(raw) if not _is_number(x))
            raise UserInputError(f"{path}: line {bad + 2}: {name} {raw[bad]!r} is not a number") from None
    return ts, columns


def _is_number(text: str) -> bool:
    try:
        float(text or "nan")
    except ValueError:
        return False
    return True


def _read_json(path: Path) -> tuple[IntArray, dict[str, FloatArray]]:
    try:
        with _open_text(path) as handle:
            payload: Any = json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise UserInputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(payload, list):
        raise UserInputError(f"{path}: expected a JSON array of [ts, open, high, low, close, volume] rows")
    if not payload:
        raise UserInputError(f"{path}: no candles (empty array)")
    for i, row in enumerate(payload):
        if not isinstance(row, list) or len(row) < 6:
            raise UserInputError(f"{path}: row {i + 1} is not [ts, open, high, low, close, volume]")
    try:
        table = np.array([row[:6] for row in payload], dtype=np.float64)  # null -> NaN
    except (TypeError, ValueError):
        raise UserInputError(f"{path}: a candle row holds a non-numeric value") from None
    ts = _scale_epoch(table[:, 0], path)
    return ts, {name: np.ascontiguousarray(table[:, i + 1]) for i, name in enumerate(COLUMNS)}


def _validate(path: Path, ts: IntArray, columns: dict[str, FloatArray], interval_ms: int) -> None:
    steps = np.diff(ts)
    bad = np.flatnonzero(steps <= 0)
    if bad.size:
        i = int(bad[0])
        raise UserInputError(
            f"{path}: timestamps must strictly increase; row {i + 2} ({int(ts[i + 1])}) "
            f"is not after row {i + 1} ({int(ts[i])})"
        )
    short = np.flatnonzero(steps < interval_ms)
    if short.size:
        i = int(short[0])
        raise UserInputError(
            f"{path}: rows {i + 1} and {i + 2} are {int(steps[i])} ms apart, less than the "
            f"{interval_label(interval_ms)} interval; pass the right --interval"
        )
    for name in ("open", "high", "low", "close"):
        values = columns[name]
        wrong = np.flatnonzero(~(np.isfinite(values) & (values > 0)))
        if wrong.size:
            i = int(wrong[0])
            raise UserInputError(f"{path}: row {i + 1}: {name} {float(values[i])!r} is not a positive number")
    inverted = np.flatnonzero(columns["high"] < columns["low"])
    if inverted.size:
        raise UserInputError(f"{path}: row {int(inverted[0]) + 1}: high is below low")
    volume = columns["volume"]
    volume[np.isnan(volume)] = 0.0  # freqtrade writes null volume for mark-price candles
    negative = np.flatnonzero(volume < 0)
    if negative.size:
        raise UserInputError(f"{path}: row {int(negative[0]) + 1}: volume is negative")


def _infer_interval_ms(ts: IntArray, path: Path) -> int:
    steps = np.diff(ts)
    steps = steps[steps > 0]
    if steps.size == 0:
        raise UserInputError(f"{path}: cannot infer the bar interval from one row; pass --interval")
    values, counts = np.unique(steps, return_counts=True)
    return int(values[int(np.argmax(counts))])


def _venue_of_directory(file: Path) -> str | None:
    """``var/data/bybit/BTC_USDT-5m.csv`` belongs to bybit (the layout `tradeops data import` writes)."""
    parent = file.parent.name.lower()
    return parent if parent in KNOWN_VENUES else None


def load_candles(
    path: str | Path,
    venue: str | None = None,
    symbol: str | None = None,
    interval: str | None = None,
) -> CandleSeries:
    """Load one candle file. Symbol, interval and venue default to what the file name says
    (``BTC_USDT-5m.json.gz`` -> BTC/USDT, 5m), the interval else to the most common bar step,
    the venue else to a known venue named by the parent directory, else ``binance``."""
    file = Path(path)
    if not file.is_file():
        raise UserInputError(f"{file}: no such file")
    info = parse_name(file)
    name = file.name.lower()
    if name.endswith((".json", ".json.gz")):
        ts, columns = _read_json(file)
    elif name.endswith((".csv", ".csv.gz")):
        ts, columns = _read_csv(file)
    else:
        raise UserInputError(f"{file}: unknown candle format; use .csv, .csv.gz, .json or .json.gz")
    label = interval or info.interval
    if label is None:
        interval_ms = _infer_interval_ms(ts, file)
        label = interval_label(interval_ms)
    else:
        try:
            interval_ms = interval_to_ms(label)
        except ValueError as exc:
            raise UserInputError(f"{file}: {exc}") from None
    resolved_symbol = normalize_symbol(symbol) if symbol else info.symbol
    if resolved_symbol is None:
        raise UserInputError(f"{file}: cannot tell the symbol from the file name; pass --symbol BASE/QUOTE")
    _validate(file, ts, columns, interval_ms)
    return CandleSeries(
        venue=venue or info.venue or _venue_of_directory(file) or DEFAULT_VENUE,
        symbol=resolved_symbol,
        interval=label,
        interval_ms=interval_ms,
        source=str(file),
        ts=ts,
        **columns,
    )
