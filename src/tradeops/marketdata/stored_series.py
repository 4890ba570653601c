"""One instrument's stored bars: columns, the count of visible bars, cached quotes and features.

The synthesised bid/ask of preloaded bars is converted a block at a time (see `synthesised`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from tradeops.domain.market import Bar, Quote
from tradeops.strategies.features import FloatArray, Ohlcv, compute_feature

NAN = math.nan
PRICE_FIELDS = ("open", "high", "low", "close", "volume")
FeatureKey = tuple[str, str, str, tuple[float, ...]]
# A NaN, then a feature's value per stored bar: index `visible` reads the last visible bar, and
# index 0 (nothing visible) NaN. A memoryview over the float64 array: indexing it gives the same
# Python float as `.item`, without a numpy call.
Values = Sequence[float]
# Bar(...) and Quote(...) run a Python-level __new__; tuple.__new__ builds the same NamedTuples in C.
# They are built when read, not ahead: thousands held alive in a block make the GC run full passes.
new_bar = cast(Callable[[tuple[Any, ...]], Bar], partial(tuple.__new__, Bar))
_new_quote = cast(Callable[[tuple[Any, ...]], Quote], partial(tuple.__new__, Quote))
QUOTE_BLOCK = 1024
PairSkips = tuple[NDArray[np.int64], list[bool], list[int]]


def readonly(array: NDArray[np.generic]) -> NDArray[np.generic]:
    view = array.view()
    view.flags.writeable = False
    return view


class StoredSeries:
    """One instrument: columns, the count of visible bars, and its synthesised quotes."""

    __slots__ = (
        "columns",
        "feature_keys",
        "half_spread",
        "interval_ms",
        "pair_skips",
        "qblock",
        "qlen",
        "qstart",
        "quote_limit",
        "size",
        "symbol",
        "ts",
        "venue",
        "visible",
        "writable",
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
        self.feature_keys: list[FeatureKey] = []  # this series' entries in the store's feature map
        # (as_of, bid, ask, size) of the closed-bar quotes of rows [qstart, qstart + qlen), all below
        # quote_limit: the preloaded rows no live append replaced (a pure function of the row there).
        self.qblock: tuple[list[int], list[float], list[float], list[float]] = ([], [], [], [])
        self.qstart = self.qlen = 0
        self.quote_limit = 0
        self.writable = False  # whether the columns are this object's own (live) storage
        # (other venue, other symbol, entry) -> (other.ts it was built on, skip flags, partner rows)
        self.pair_skips: dict[tuple[str, str, float], PairSkips] = {}

    def load(self, ts: NDArray[np.int64], columns: dict[str, FloatArray]) -> None:
        self.ts = ts
        self.columns = columns
        self.size = int(ts.shape[0])
        self.quote_limit = self.size
        self.qlen = 0
        self.writable = False
        self.pair_skips = {}

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
        self.writable = True

    def bar(self, index: int) -> Bar:
        values = (self.columns[name].item(index) for name in PRICE_FIELDS)
        return Bar(self.venue, self.symbol, self.ts.item(index), *values)

    def feature_values(self, name: str, params: tuple[float, ...]) -> Values:
        """The feature over every stored bar, read by `visible` (a NaN first, for index 0)."""
        n = self.size
        c = self.columns
        data = Ohlcv(c["open"][:n], c["high"][:n], c["low"][:n], c["close"][:n], c["volume"][:n])
        values = compute_feature(name, params, data)
        return cast(Values, np.concatenate(([NAN], values)).data)

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

    def entry_skip(self, other: StoredSeries, entry: float) -> bool:
        """True when the synthesised quotes of this series' and `other`'s last visible bars fail
        cross_exchange's entry bound (both gaps < entry x this ask). False: unknown or possible.

        Exact: the flags are the strategy's own float operations on the same closes, and apply only
        to preloaded rows no live bar replaced (below both quote limits) paired as precomputed."""
        key = (other.venue, other.symbol, entry)
        cached = self.pair_skips.get(key)
        if cached is None or cached[0] is not other.ts:
            cached = self.pair_skips[key] = self._pair_skips(other, entry)
        i, j = self.visible - 1, other.visible - 1
        skips, partners = cached[1], cached[2]
        if not 0 <= i < self.quote_limit or i >= len(skips):
            return False
        return partners[i] == j and j < other.quote_limit and skips[i]

    def _pair_skips(self, other: StoredSeries, entry: float) -> PairSkips:
        """Per preloaded row i: the flat entry bound against `other`'s last row at or before row i's
        ts (its partner; -1 when none), vectorised with the same IEEE operations as the strategy."""
        n, m = self.quote_limit, other.quote_limit
        j = np.searchsorted(other.ts[:m], self.ts[:n], side="right") - 1
        valid = j >= 0
        if m == 0:
            return other.ts, [False] * n, [-1] * n
        close = self.columns["close"][:n]
        other_close = other.columns["close"][:m][np.where(valid, j, 0)]
        h, g = self.half_spread, other.half_spread
        with np.errstate(invalid="ignore", over="ignore"):
            a_bid, a_ask = close * (1.0 - h), close * (1.0 + h)
            b_bid, b_ask = other_close * (1.0 - g), other_close * (1.0 + g)
            bound = entry * a_ask
            skip = (b_bid - a_ask < bound) & (a_bid - b_ask < bound) & valid
        return other.ts, skip.tolist(), np.where(valid, j, -1).tolist()
