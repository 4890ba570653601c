"""StoreView: the causal MarketView over a SeriesStore's series, features and quotes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from tradeops.domain.market import Quote
from tradeops.marketdata.stored_series import NAN, FeatureKey, StoredSeries, Values, new_quote, readonly

_EMPTY: tuple[float, ...] = ()
_GroupKey = tuple[tuple[str, ...], tuple[str, ...], str, tuple[float, ...]]
_Group = list[tuple[StoredSeries, Values]]
# Stands in for an unknown instrument in a group: nothing visible, so it reads index -1: NaN.
_ABSENT = StoredSeries("", "", 1, 0.0)
_NAN_ONLY: Values = (NAN,)


class ViewCache:
    """What every view of one store shares: a reader per feature (`features`), and per
    (venues, symbols, name, params) the pairs of series and values `features()` reads (`groups`),
    per (venue, symbols) the series `quotes()` reads (`members`). The store drops groups and
    members whenever a series is added or its features are dropped, so they never go stale."""

    __slots__ = ("features", "groups", "members")

    def __init__(self) -> None:
        self.features: dict[FeatureKey, tuple[StoredSeries, Values]] = {}
        self.groups: dict[_GroupKey, _Group] = {}
        self.members: dict[tuple[str, tuple[str, ...]], list[StoredSeries | None]] = {}

    def drop_bound(self) -> None:
        self.groups.clear()
        self.members.clear()


class StoreView:
    """The MarketView strategies receive: reads only what is visible at `now_ms`."""

    __slots__ = ("_cache", "_features", "_quotes", "_series", "now_ms")

    def __init__(
        self,
        series: dict[tuple[str, str], StoredSeries],
        quotes: dict[tuple[str, str], Quote],
        cache: ViewCache,
        now_ms: int,
    ) -> None:
        self._series = series
        self._quotes = quotes
        self._cache = cache
        self._features = cache.features  # one flat lookup: (venue, symbol, name, params) -> values
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
        part = column[max(0, end - n) : end]  # a view of preloaded (read-only) columns is read-only
        return cast(Sequence[float], readonly(part) if series.writable else part)

    def feature(self, venue: str, symbol: str, name: str, *params: float) -> float:
        entry = self._features.get((venue, symbol, name, params))
        if entry is None:
            entry = self._entry(venue, symbol, name, params)
        return entry[1][entry[0].visible - 1]

    def features(
        self, venues: Sequence[str], symbols: Sequence[str], name: str, *params: float
    ) -> list[float]:
        """`feature(venue, symbol, name, *params)` of every venue x symbol pair, venue-major."""
        key = (tuple(venues), tuple(symbols), name, params)
        group = self._cache.groups.get(key)
        if group is None:
            group = [self._entry(venue, symbol, name, params) for venue in key[0] for symbol in key[1]]
            self._cache.groups[key] = group
        return [values[series.visible - 1] for series, values in group]

    def _entry(
        self, venue: str, symbol: str, name: str, params: tuple[float, ...]
    ) -> tuple[StoredSeries, Values]:
        """The (series, values) a feature reads, computed on first use (an unknown instrument: NaN)."""
        key = (venue, symbol, name, params)
        entry = self._features.get(key)
        if entry is not None:
            return entry
        series = self._series.get((venue, symbol))
        if series is None:
            return _ABSENT, _NAN_ONLY
        entry = (series, series.feature_values(name, params))
        self._features[key] = entry
        series.feature_keys.append(key)
        return entry

    def quote(self, venue: str, symbol: str) -> Quote | None:
        key = (venue, symbol)
        series = self._series.get(key)
        if series is None:
            return self._quotes.get(key) if self._quotes else None
        if self._quotes:  # an explicit quote wins unless the last bar is newer
            explicit, quote = self._quotes.get(key), series.synthesised(self.now_ms)
            return explicit if quote is None or (explicit is not None and explicit.ts >= quote.ts) else quote
        return series.synthesised(self.now_ms)

    def quotes(self, venue: str, symbols: Sequence[str]) -> list[Quote | None]:
        """`quote(venue, symbol)` of every symbol."""
        if self._quotes:
            return [self.quote(venue, symbol) for symbol in symbols]
        key = (venue, tuple(symbols))
        members = self._cache.members.get(key)
        if members is None:
            members = [self._series.get((venue, symbol)) for symbol in key[1]]
            self._cache.members[key] = members
        now = self.now_ms
        found: list[Quote | None] = []
        for series in members:
            if series is not None:
                # StoredSeries.synthesised's common case inlined: a closed bar of the current block.
                offset = series.visible - 1 - series.qstart
                if 0 <= offset < series.qlen:
                    as_of, bid, ask, size = series.qblock
                    closed = as_of[offset]
                    if now >= closed:
                        volume = size[offset]
                        quote = (
                            series.venue,
                            series.symbol,
                            closed,
                            bid[offset],
                            ask[offset],
                            volume,
                            volume,
                        )
                        found.append(new_quote(quote))
                        continue
                found.append(series.synthesised(now))
            else:
                found.append(None)
        return found
