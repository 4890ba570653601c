"""Market data values: bars and quotes. Timestamps are epoch milliseconds, UTC."""

from __future__ import annotations

from typing import NamedTuple


class Bar(NamedTuple):
    """One OHLCV candle; `ts` is the bar's open time. A NamedTuple: immutable and cheap to build
    (the replay creates one per revealed bar)."""

    venue: str
    symbol: str
    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class Quote(NamedTuple):
    """Best bid/ask of one instrument on one venue."""

    venue: str
    symbol: str
    ts: int
    bid: float
    ask: float
    bid_size: float
    ask_size: float

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) / 2.0


INTERVAL_MS: dict[str, int] = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
}


def interval_to_ms(interval: str) -> int:
    """Translate an interval such as ``5m`` or ``30s`` into milliseconds."""
    if interval in INTERVAL_MS:
        return INTERVAL_MS[interval]
    units = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
    number, unit = interval[:-1], interval[-1:]
    if unit not in units or not number.isdigit() or int(number) <= 0:
        raise ValueError(f"unknown interval {interval!r}; use e.g. 30s, 1m, 5m, 1h, 4h, 1d")
    return int(number) * units[unit]
