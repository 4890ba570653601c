"""SeriesStore: bar history per instrument, revealed causally, with cached features and quotes.

Preloaded series (replays, backtests) stay hidden until `advance_to` passes each bar's close time;
live bars (`append`) are visible at once. Features are computed once over the whole stored series
(see `strategies/features.py`; every one is causal) and then read by index, so a lookup is O(1).
Appends and loads drop a series' cached features, so they are recomputed lazily. The synthesised
bid/ask of preloaded bars and the fields of revealed bars are converted a block at a time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Protocol, cast

import numpy as np
from numpy.typing import NDArray

from tradeops.domain.market import Bar, Quote
from tradeops.strategies.base import MarketView
from tradeops.strategies.features import FloatArray, Ohlcv, compute_feature

NAN = math.nan
PRICE_FIELDS = ("open", "high", "low", "close", "volume")
_EMPTY: tuple[float, ...] = ()
_FeatureKey = tuple[str, str, str, tuple[float, ...]]
_Reader = Callable[[int], float]  # index -> feature value; index -1 (nothing visible) reads NaN
# Bar(...) and Quote(...) run a Python-level __new__; tuple.__new__ builds the same NamedTuples in C.
# They are built when read, not ahead: thousands held alive in a block make the GC run full passes.
_new_bar = cast(Callable[[tuple[Any, ...]], Bar], partial(tuple.__new__, Bar))
_new_quote = cast(Callable[[tuple[Any, ...]], Quote], partial(tuple.__new__, Quote))
QUOTE_BLOCK = 1024


def _readonly(array: NDArray[np.generic]) -> NDArray[np.generic]:
    view = array.view()
    view.flags.writeable = False
    return view


class _Series:
    """One instrument: columns, the count of visible bars, and its synthesised quotes."""

    __slots__ = (
        "columns",
        "feature_keys",
        "half_spread",
        "interval_ms",
        "qblock",
        "qlen",
        "qstart",
        "quote_limit",
        "size",
        "symbol",
        "ts",
        "venue",
        "visible",
    )

    def __init__(self, venue: str, symbol: str, interval_ms: int, half_spread_bps: float) -> None:
        self.venue = venue
        self.symbol = symbol
        self.interval_ms = interval_ms
        self.half_spread = half_spread_bps / 10_000.0
        self.ts: NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self.columns: dict[str, FloatArray] = {f: np.empty(0, dtype=np.float64) for f in PRICE_FIELDS}
        self.size = 0
        self.visible = 0
        self.feature_keys: list[_FeatureKey] = []  # this series' entries in the store's feature map
        # (as_of, bid, ask, size) of the closed-bar quotes of rows [qstart, qstart + qlen), all below
        # quote_limit: the preloaded rows no live append replaced (a pure function of the row there).
        self.qblock: tuple[list[int], list[float], list[float], list[float]] = ([], [], [], [])
        self.qstart = self.qlen = 0
        self.quote_limit = 0

    def load(self, ts: NDArray[np.int64], columns: dict[str, FloatArray]) -> None:
        self.ts = ts
        self.columns = columns
        self.size = int(ts.shape[0])
        self.quote_limit = self.size
        self.qlen = 0

    def push(self, bar: Bar) -> None:
        if self.visible < self.size:
            raise ValueError(
                f"{self.venue} {self.symbol}: cannot append live bars while preloaded bars are hidden"
            )
        if self.size and bar.ts < int(self.ts[self.size - 1]):
            raise ValueError(f"{self.venue} {self.symbol}: bar at {bar.ts} is older than the last bar")
        index = self.size - 1 if self.size and bar.ts == int(self.ts[self.size - 1]) else self.size
        self._reserve(index + 1)  # also makes preloaded (read-only) storage writable for a replacement
        self.size = max(self.size, index + 1)
        self.ts[index] = bar.ts
        for name in PRICE_FIELDS:
            self.columns[name][index] = getattr(bar, name)
        self.visible = self.size
        if index < self.quote_limit:  # a replaced preloaded row: its precomputed quote is stale
            self.quote_limit = index
            self.qlen = 0

    def _reserve(self, needed: int) -> None:
        capacity = self.ts.shape[0]
        if needed <= capacity and self.ts.flags.writeable:
            return
        new_capacity = max(needed, 2 * capacity, 64)
        ts = np.empty(new_capacity, dtype=np.int64)
        ts[: self.size] = self.ts[: self.size]
        self.ts = ts
        for name in PRICE_FIELDS:
            column = np.empty(new_capacity, dtype=np.float64)
            column[: self.size] = self.columns[name][: self.size]
            self.columns[name] = column

    def bar(self, index: int) -> Bar:
        values = (self.columns[name].item(index) for name in PRICE_FIELDS)
        return Bar(self.venue, self.symbol, self.ts.item(index), *values)

    def feature_reader(self, name: str, params: tuple[float, ...]) -> _Reader:
        """The feature over every stored bar, read by index; a NaN appended for index -1."""
        n = self.size
        c = self.columns
        data = Ohlcv(c["open"][:n], c["high"][:n], c["low"][:n], c["close"][:n], c["volume"][:n])
        values = compute_feature(name, params, data)
        return cast(_Reader, np.append(values, NAN).item)

    def synthesised(self, now_ms: int) -> Quote | None:
        """The quote of the last visible bar (None when nothing is visible)."""
        index = self.visible - 1
        offset = index - self.qstart
        if not 0 <= offset < self.qlen:
            if not 0 <= index < self.quote_limit:
                return None if index < 0 else self._synthesise(index, now_ms)  # a live or replaced row
            self._quote_block(index)
            offset = index - self.qstart
        as_of, bid, ask, size = self.qblock
        if now_ms < as_of[offset]:  # not closed yet at now (a view older than the reveal)
            return self._synthesise(index, now_ms)
        volume = size[offset]
        return _new_quote((self.venue, self.symbol, as_of[offset], bid[offset], ask[offset], volume, volume))

    def _quote_block(self, index: int) -> None:
        """Closed-bar quote fields of the aligned block holding preloaded row `index`, in one pass."""
        start = index - index % QUOTE_BLOCK
        end = min(start + QUOTE_BLOCK, self.quote_limit)
        close, size = self.columns["close"][start:end], self.columns["volume"][start:end].tolist()
        half = self.half_spread  # elementwise, the same IEEE products as _synthesise's
        bid, ask = (close * (1.0 - half)).tolist(), (close * (1.0 + half)).tolist()
        as_of = (self.ts[start:end] + self.interval_ms).tolist()
        self.qblock = (as_of, bid, ask, size)
        self.qstart, self.qlen = start, end - start

    def _synthesise(self, last: int, now_ms: int) -> Quote:
        """Row `last`'s close +- half spread, as of the bar's close (a still-forming bar: as of now)."""
        bar_ts = self.ts.item(last)
        close_ms = bar_ts + self.interval_ms
        as_of = close_ms if now_ms >= close_ms else (bar_ts if now_ms < bar_ts else now_ms)
        close, size = self.columns["close"].item(last), self.columns["volume"].item(last)
        bid, ask = close * (1.0 - self.half_spread), close * (1.0 + self.half_spread)
        return Quote(self.venue, self.symbol, as_of, bid, ask, size, size)


class StoreView:
    """The MarketView strategies receive: reads only what is visible at `now_ms`."""

    __slots__ = ("_features", "_quotes", "_series", "now_ms")

    def __init__(
        self,
        series: dict[tuple[str, str], _Series],
        quotes: dict[tuple[str, str], Quote],
        features: dict[_FeatureKey, tuple[_Series, _Reader]],
        now_ms: int,
    ) -> None:
        self._series = series
        self._quotes = quotes
        self._features = features  # one flat lookup: (venue, symbol, name, params) -> reader
        self.now_ms = now_ms

    def bar_count(self, venue: str, symbol: str) -> int:
        series = self._series.get((venue, symbol))
        return 0 if series is None else series.visible

    def last(self, venue: str, symbol: str, field: str = "close") -> float:
        series = self._series.get((venue, symbol))
        if series is None or series.visible == 0:
            return NAN
        if field == "ts":
            return float(series.ts.item(series.visible - 1))
        return series.columns[field].item(series.visible - 1)

    def history(self, venue: str, symbol: str, field: str, n: int) -> Sequence[float]:
        """The last `n` visible values of `field` (fewer if history is shorter), read-only."""
        series = self._series.get((venue, symbol))
        if series is None or series.visible == 0 or n <= 0:
            return _EMPTY
        end = series.visible
        column = series.ts if field == "ts" else series.columns[field]
        return cast(Sequence[float], _readonly(column[max(0, end - n) : end]))

    def feature(self, venue: str, symbol: str, name: str, *params: float) -> float:
        entry = self._features.get((venue, symbol, name, params))
        if entry is None:
            return self._compute(venue, symbol, name, params)
        return entry[1](entry[0].visible - 1)

    def _compute(self, venue: str, symbol: str, name: str, params: tuple[float, ...]) -> float:
        series = self._series.get((venue, symbol))
        if series is None:
            return NAN
        key = (venue, symbol, name, params)
        read = series.feature_reader(name, params)
        self._features[key] = (series, read)
        series.feature_keys.append(key)
        return read(series.visible - 1)

    def quote(self, venue: str, symbol: str) -> Quote | None:
        key = (venue, symbol)
        series = self._series.get(key)
        if series is None:
            return self._quotes.get(key) if self._quotes else None
        if self._quotes:  # an explicit quote wins unless the last bar is newer
            explicit, quote = self._quotes.get(key), series.synthesised(self.now_ms)
            return explicit if quote is None or (explicit is not None and explicit.ts >= quote.ts) else quote
        return series.synthesised(self.now_ms)


class _Timeline:
    """Hidden bars of all series in close-time order, and how many have been revealed.

    Bar fields, owners and visible counts are gathered a chunk at a time into Python lists, so
    revealing costs list slices, one attribute store and one C-built Bar per bar.
    """

    __slots__ = (
        "_chunk_end",
        "_chunk_start",
        "_fields",
        "_objects",
        "_owners",
        "_visible",
        "close",
        "cursor",
        "owner",
        "row",
        "series",
        "size",
    )
    CHUNK = 4096

    def __init__(
        self,
        close: NDArray[np.int64],
        owner: NDArray[np.int32],
        row: NDArray[np.int64],
        series: list[_Series],
    ) -> None:
        self.close = close
        self.owner = owner
        self.row = row
        self.series = series
        # Each series, its venue and its symbol by owner index, for gathering them in C.
        names = ([x.venue for x in series], [x.symbol for x in series])
        self._objects = tuple(np.array(values, dtype=object) for values in (series, *names))
        self.size = int(close.shape[0])
        self.cursor = 0
        self._chunk_start = 0
        self._chunk_end = 0
        self._fields: list[list[Any]] = []
        self._owners: list[_Series] = []
        self._visible: list[int] = []

    def _load_chunk(self, start: int) -> None:
        end = min(self.size, start + self.CHUNK)
        owners = self.owner[start:end]
        rows = self.row[start:end]
        # A series' rows in a chunk are consecutive (the timeline keeps each series' order), so the
        # chunk is the owners' row ranges interleaved: group by owner, copy the ranges, scatter back.
        group = np.argsort(owners, kind="stable")
        ids, counts = np.unique(owners, return_counts=True)
        firsts = rows[group][np.cumsum(counts) - counts]
        ranges = [
            (self.series[i], f, f + c)
            for i, f, c in zip(ids.tolist(), firsts.tolist(), counts.tolist(), strict=True)
        ]
        fields: list[list[Any]] = [objects[owners].tolist() for objects in self._objects]
        for name in ("ts", *PRICE_FIELDS):
            grouped = np.concatenate([(s.ts if name == "ts" else s.columns[name])[a:b] for s, a, b in ranges])
            column = np.empty_like(grouped)
            column[group] = grouped
            fields.append(column.tolist())
        self._owners, self._visible = fields[0], (rows + 1).tolist()  # flat lists: no GC-tracked pairs
        self._fields = fields[1:]
        self._chunk_start = start
        self._chunk_end = end

    def reveal(self, end: int) -> list[Bar]:
        """Bars of events [cursor, end); marks them visible in their series."""
        revealed: list[Bar] = []
        position = self.cursor
        while position < end:
            if not self._chunk_start <= position < self._chunk_end:
                self._load_chunk(position)
            a = position - self._chunk_start
            b = min(end, self._chunk_end) - self._chunk_start
            for owner, visible in zip(self._owners[a:b], self._visible[a:b], strict=True):
                owner.visible = visible
            revealed += map(_new_bar, zip(*[values[a:b] for values in self._fields], strict=True))
            position += b - a
        self.cursor = end
        return revealed


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
        self._series: dict[tuple[str, str], _Series] = {}
        self._order: list[_Series] = []
        self._quotes: dict[tuple[str, str], Quote] = {}
        self._timeline: _Timeline | None = None
        self._features: dict[_FeatureKey, tuple[_Series, _Reader]] = {}
        self._now_ms = 0

    def _get_or_create(
        self, venue: str, symbol: str, interval_ms: int, half_spread_bps: float = 0.0
    ) -> _Series:
        series = self._series.get((venue, symbol))
        if series is None:
            if interval_ms <= 0:
                raise ValueError(f"{venue} {symbol}: interval_ms must be positive, got {interval_ms}")
            series = _Series(venue, symbol, interval_ms, half_spread_bps)
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
        ro_columns = {name: cast(FloatArray, _readonly(col)) for name, col in columns.items()}
        self._forget_features(series)
        series.load(cast(NDArray[np.int64], _readonly(times)), ro_columns)
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

    def _forget_features(self, series: _Series) -> None:
        """Drop a series' cached features after its bars changed (recomputed on the next read)."""
        for key in series.feature_keys:
            self._features.pop(key, None)
        series.feature_keys.clear()

    def _build_timeline(self) -> _Timeline:
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
            timeline = _Timeline(empty, np.empty(0, np.int32), empty, self._order)
        else:
            close = np.concatenate(closes)
            order = np.argsort(close, kind="stable")  # ties keep registration order
            owner, row = np.concatenate(owners)[order], np.concatenate(rows)[order]
            timeline = _Timeline(close[order], owner, row, self._order)
        self._timeline = timeline
        return timeline

    def advance_to(self, now_ms: int) -> list[Bar]:
        """Reveal preloaded bars whose close time (ts + interval) <= now_ms, in time order."""
        self._now_ms = max(self._now_ms, now_ms)  # time never runs backwards for a view
        timeline = self._timeline or self._build_timeline()
        start = timeline.cursor
        if start >= timeline.size or timeline.close.item(start) > now_ms:
            return []
        end = int(timeline.close.searchsorted(now_ms, side="right"))
        return timeline.reveal(end)

    def next_reveal_ms(self) -> int | None:
        """Earliest close time of a bar not yet revealed (None when every bar is visible)."""
        timeline = self._timeline or self._build_timeline()
        if timeline.cursor >= timeline.size:
            return None
        return int(timeline.close.item(timeline.cursor))

    def set_quote(self, quote: Quote) -> None:
        self._quotes[(quote.venue, quote.symbol)] = quote

    def view(self) -> MarketView:
        return StoreView(self._series, self._quotes, self._features, self._now_ms)

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
