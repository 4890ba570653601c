"""CandleSeries: one instrument's OHLCV columns as numpy arrays (timestamps are bar open times, ms)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from tradeops.domain.market import Bar, interval_to_ms

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
COLUMNS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True, eq=False)
class CandleSeries:
    venue: str
    symbol: str  # "BASE/QUOTE", or "BASE/QUOTE:SETTLE" for perpetuals
    interval: str  # e.g. "5m"
    interval_ms: int
    source: str  # file the candles came from, or "synthetic"
    ts: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    @classmethod
    def from_closes(
        cls,
        closes: Sequence[float] | FloatArray,
        symbol: str = "BTC/USDT",
        venue: str = "binance",
        interval: str = "5m",
        start_ms: int = 1_700_000_000_000,
        range_pct: float = 0.001,
        volume: float | Sequence[float] | FloatArray = 100.0,
    ) -> CandleSeries:
        """Candles from a close path (tests, examples): open = previous close, high/low = the
        body widened by `range_pct`."""
        close = np.asarray(closes, dtype=np.float64)
        interval_ms = interval_to_ms(interval)
        open_ = np.concatenate([close[:1], close[:-1]])
        return cls(
            venue=venue,
            symbol=symbol,
            interval=interval,
            interval_ms=interval_ms,
            source="memory",
            ts=start_ms + interval_ms * np.arange(close.shape[0], dtype=np.int64),
            open=open_,
            high=np.maximum(open_, close) * (1.0 + range_pct),
            low=np.minimum(open_, close) * (1.0 - range_pct),
            close=close,
            volume=np.broadcast_to(np.asarray(volume, dtype=np.float64), close.shape).copy(),
        )

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @property
    def start_ms(self) -> int:
        """Open time of the first bar (0 when empty)."""
        return int(self.ts[0]) if len(self) else 0

    @property
    def end_ms(self) -> int:
        """Close time of the last bar (0 when empty)."""
        return int(self.ts[-1]) + self.interval_ms if len(self) else 0

    def to_bars(self) -> list[Bar]:
        return [
            Bar(self.venue, self.symbol, t, o, h, lo, c, v)
            for t, o, h, lo, c, v in zip(
                self.ts.tolist(),
                self.open.tolist(),
                self.high.tolist(),
                self.low.tolist(),
                self.close.tolist(),
                self.volume.tolist(),
                strict=True,
            )
        ]

    def select(self, rows: NDArray[np.bool_] | NDArray[np.int64] | slice) -> CandleSeries:
        """A new series with only `rows` (a boolean mask, index array or slice)."""
        return replace(
            self,
            ts=self.ts[rows],
            **{name: getattr(self, name)[rows] for name in COLUMNS},
        )

    def head(self, n: int) -> CandleSeries:
        return self.select(slice(0, max(0, n)))

    def tail(self, n: int) -> CandleSeries:
        return self.select(slice(max(0, len(self) - n), None))

    def between(self, start_ms: int | None = None, end_ms: int | None = None) -> CandleSeries:
        """Bars whose open time is in [start_ms, end_ms)."""
        lo = 0 if start_ms is None else int(np.searchsorted(self.ts, start_ms, side="left"))
        hi = len(self) if end_ms is None else int(np.searchsorted(self.ts, end_ms, side="left"))
        return self.select(slice(lo, hi))

    def with_prices(
        self, venue: str | None = None, factor: float | FloatArray = 1.0, symbol: str | None = None
    ) -> CandleSeries:
        """A copy with every price multiplied by `factor` (scalar or per bar), optionally renamed.

        Scaling open, high, low and close by the same per-bar factor keeps high >= max(open, close)
        and low <= min(open, close) for positive factors.
        """
        scale = np.asarray(factor, dtype=np.float64)
        if np.any(scale <= 0):
            raise ValueError("price factor must be positive")
        return replace(
            self,
            venue=venue or self.venue,
            symbol=symbol or self.symbol,
            open=self.open * scale,
            high=self.high * scale,
            low=self.low * scale,
            close=self.close * scale,
            volume=self.volume.copy(),
            ts=self.ts.copy(),
        )
