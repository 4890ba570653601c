"""CandleSeries: one instrument's OHLCV columns as numpy arrays (timestamps are bar open times, ms)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from tradeops.domain.market import Bar

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
