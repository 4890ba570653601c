"""StoreView: the causal MarketView over a SeriesStore's series, features and quotes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from tradeops.domain.market import Quote
from tradeops.marketdata.stored_series import NAN, FeatureKey, StoredSeries, Values, readonly

_EMPTY: tuple[float, ...] = ()


class StoreView:
    """The MarketView strategies receive: reads only what is visible at `now_ms`."""

    __slots__ = ("_features", "_quotes", "_series", "now_ms")

    def __init__(
        self,
        series: dict[tuple[str, str], StoredSeries],
        quotes: dict[tuple[str, str], Quote],
        features: dict[FeatureKey, tuple[StoredSeries, Values]],
        now_ms: int,
    ) -> None:
        self._series = series
        self._quotes = quotes
        self._features = features  # one flat lookup: (venue, symbol, name, params) -> values
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
            return self._compute(venue, symbol, name, params)
        return entry[1][entry[0].visible]

    def _compute(self, venue: str, symbol: str, name: str, params: tuple[float, ...]) -> float:
        series = self._series.get((venue, symbol))
        if series is None:
            return NAN
        key = (venue, symbol, name, params)
        values = series.feature_values(name, params)
        self._features[key] = (series, values)
        series.feature_keys.append(key)
        return values[series.visible]

    def quote(self, venue: str, symbol: str) -> Quote | None:
        key = (venue, symbol)
        series = self._series.get(key)
        if series is None:
            return self._quotes.get(key) if self._quotes else None
        if self._quotes:  # an explicit quote wins unless the last bar is newer
            explicit, quote = self._quotes.get(key), series.synthesised(self.now_ms)
            return explicit if quote is None or (explicit is not None and explicit.ts >= quote.ts) else quote
        return series.synthesised(self.now_ms)

    def entry_skip(self, primary: str, secondary: str, symbol: str, entry: float) -> bool:
        """True when cross_exchange's flat entry test on `symbol` surely fails (see
        `StoredSeries.entry_skip`); False when an explicit quote exists or the answer is not known."""
        a, b = self._series.get((primary, symbol)), self._series.get((secondary, symbol))
        if a is None or b is None:
            return False
        quotes = self._quotes
        if quotes and ((primary, symbol) in quotes or (secondary, symbol) in quotes):
            return False
        return a.entry_skip(b, entry)
