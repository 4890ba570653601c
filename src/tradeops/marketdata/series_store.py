"""SeriesStore: bar history per instrument, revealed causally, with cached features and quotes.

Preloaded series (replays, backtests) stay hidden until `advance_to` passes each bar's close time;
live bars (`append`) are visible at once. Features are computed once over the whole stored series
(see `strategies/features.py`; every one is causal) and then read by index, so a lookup is O(1).
Appends and loads drop a series' cached features, so they are recomputed lazily. The parts:
`stored_series.py` (one instrument), `timeline.py` (the reveal), `store_view.py` (the MarketView).
"""

from __future__ import annotations

from typing import Protocol, cast

import numpy as np
from numpy.typing import NDArray

from tradeops.domain.market import Bar, Quote
from tradeops.marketdata.store_view import StoreView
from tradeops.marketdata.stored_series import PRICE_FIELDS, FeatureKey, StoredSeries, Values, readonly
from tradeops.marketdata.timeline import Timeline
from tradeops.strategies.base import MarketView
from tradeops.strategies.features import FloatArray


class CandleColumns(Protocol):
    """What `SeriesStore.add_candles` reads (marketdata's frozen CandleSeries has these, read-only)."""

    @property
    def venue(self) -> str: ...
    @property
    def symbol(self) -> str: ...
    @property
    def interval_ms(self) -> int: ...
    @property
    def ts(self) -> NDArray[np.int64]: ...
    @property
    def open(self) -> FloatArray: ...
    @property
    def high(self) -> FloatArray: ...
    @property
    def low(self) -> FloatArray: ...
    @property
    def close(self) -> FloatArray: ...
    @property
    def volume(self) -> FloatArray: ...


class SeriesStore:
    """Bars of every instrument plus the reveal cursor; the engine's market for strategies."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, str], StoredSeries] = {}
        self._order: list[StoredSeries] = []
        self._quotes: dict[tuple[str, str], Quote] = {}
        self._timeline: Timeline | None = None
        self._features: dict[FeatureKey, tuple[StoredSeries, Values]] = {}
        self._view: StoreView | None = None
        self._now_ms = 0

    def _get_or_create(
        self, venue: str, symbol: str, interval_ms: int, half_spread_bps: float = 0.0
    ) -> StoredSeries:
        series = self._series.get((venue, symbol))
        if series is None:
            if interval_ms <= 0:
                raise ValueError(f"{venue} {symbol}: interval_ms must be positive, got {interval_ms}")
            series = StoredSeries(venue, symbol, interval_ms, half_spread_bps)
            self._series[(venue, symbol)] = series
            self._order.append(series)
        elif series.interval_ms != interval_ms:
            raise ValueError(
                f"{venue} {symbol}: interval {interval_ms} ms differs from stored {series.interval_ms} ms"
            )
        return series

    def add_series(
        self,
        venue: str,
        symbol: str,
        interval_ms: int,
        ts: NDArray[np.int64],
        open: FloatArray,
        high: FloatArray,
        low: FloatArray,
        close: FloatArray,
        volume: FloatArray,
        half_spread_bps: float = 0.0,
    ) -> None:
        """Preload history; nothing of it is visible until `advance_to` passes a bar's close."""
        if (venue, symbol) in self._series and self._series[(venue, symbol)].size:
            raise ValueError(f"{venue} {symbol}: series already loaded")
        times = np.asarray(ts, dtype=np.int64)
        columns = {
            name: np.asarray(values, dtype=np.float64)
            for name, values in zip(PRICE_FIELDS, (open, high, low, close, volume), strict=True)
        }
        if any(col.shape != times.shape for col in columns.values()) or times.ndim != 1:
            raise ValueError(f"{venue} {symbol}: ts and OHLCV arrays must be 1-D with equal lengths")
        if times.shape[0] > 1 and not bool(np.all(np.diff(times) > 0)):
            raise ValueError(f"{venue} {symbol}: timestamps must strictly increase")
        series = self._get_or_create(venue, symbol, interval_ms, half_spread_bps)
        series.half_spread = half_spread_bps / 10_000.0
        ro_columns = {name: cast(FloatArray, readonly(col)) for name, col in columns.items()}
        self._forget_features(series)
        series.load(cast(NDArray[np.int64], readonly(times)), ro_columns)
        self._timeline = None

    def add_candles(self, candles: CandleColumns, half_spread_bps: float = 0.0) -> None:
        """`add_series` for one CandleSeries."""
        self.add_series(
            candles.venue,
            candles.symbol,
            candles.interval_ms,
            candles.ts,
            candles.open,
            candles.high,
            candles.low,
            candles.close,
            candles.volume,
            half_spread_bps,
        )

    def append(self, bar: Bar, interval_ms: int) -> None:
        """Add a live bar (visible immediately). A bar with the last bar's ts replaces it."""
        series = self._get_or_create(bar.venue, bar.symbol, interval_ms)
        series.push(bar)
        self._forget_features(series)

    def _forget_features(self, series: StoredSeries) -> None:
        """Drop a series' cached features after its bars changed (recomputed on the next read)."""
        for key in series.feature_keys:
            self._features.pop(key, None)
        series.feature_keys.clear()

    def _build_timeline(self) -> Timeline:
        """Merge the hidden bars of every series into one order of close times (built lazily)."""
        closes, owners, rows = [], [], []
        for index, series in enumerate(self._order):
            if series.visible < series.size:
                hidden = np.arange(series.visible, series.size, dtype=np.int64)
                closes.append(series.ts[series.visible : series.size] + series.interval_ms)
                owners.append(np.full(hidden.shape[0], index, dtype=np.int32))
                rows.append(hidden)
        if not closes:
            empty = np.empty(0, dtype=np.int64)
            timeline = Timeline(empty, np.empty(0, np.int32), empty, self._order)
        else:
            close = np.concatenate(closes)
            order = np.argsort(close, kind="stable")  # ties keep registration order
            owner, row = np.concatenate(owners)[order], np.concatenate(rows)[order]
            timeline = Timeline(close[order], owner, row, self._order)
        self._timeline = timeline
        return timeline

    def advance_to(self, now_ms: int) -> list[Bar]:
        """Reveal preloaded bars whose close time (ts + interval) <= now_ms, in time order."""
        if now_ms > self._now_ms:  # time never runs backwards for a view
            self._now_ms = now_ms
        timeline = self._timeline or self._build_timeline()
        next_ms = timeline.next_ms
        if next_ms is None or next_ms > now_ms:
            return []
        return timeline.reveal(now_ms)

    def next_reveal_ms(self) -> int | None:
        """Earliest close time of a bar not yet revealed (None when every bar is visible)."""
        return (self._timeline or self._build_timeline()).next_ms

    def set_quote(self, quote: Quote) -> None:
        self._quotes[(quote.venue, quote.symbol)] = quote

    def view(self) -> MarketView:
        view = self._view
        if view is None or view.now_ms != self._now_ms:  # views at the same time are interchangeable
            view = self._view = StoreView(self._series, self._quotes, self._features, self._now_ms)
        return view

    @property
    def now_ms(self) -> int:
        return self._now_ms

    def instruments(self) -> list[tuple[str, str]]:
        return [(s.venue, s.symbol) for s in self._order]

    def bar_count(self, venue: str, symbol: str) -> int:
        """Visible bars of one instrument (0 when unknown)."""
        series = self._series.get((venue, symbol))
        return 0 if series is None else series.visible

    def loaded(self, venue: str, symbol: str) -> tuple[NDArray[np.int64], dict[str, FloatArray]]:
        """Open times and OHLCV columns of every loaded bar, visible or not (read-only; for reports)."""
        series = self._series.get((venue, symbol))
        if series is None:
            return np.empty(0, dtype=np.int64), {}
        return series.ts[: series.size], {k: v[: series.size] for k, v in series.columns.items()}

    def last_bar(self, venue: str, symbol: str) -> Bar | None:
        series = self._series.get((venue, symbol))
        if series is None or series.visible == 0:
            return None
        return series.bar(series.visible - 1)

    def interval_ms(self, venue: str, symbol: str) -> int:
        series = self._series.get((venue, symbol))
        if series is None:
            raise KeyError(f"unknown instrument {venue} {symbol}")
        return series.interval_ms
