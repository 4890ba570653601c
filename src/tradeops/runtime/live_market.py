"""The live market: closed candles polled from each venue into the series store on the wall clock.

The scheduler sees the same revealing-market protocol as in a replay. Each poll asks every
instrument's source (REST, or a websocket stream that hands to REST what it cannot vouch for) for
candles after the last closed one it holds, so a gap (a reconnect, a slow venue) is caught up;
only candles newer than the last held are added, so none is added twice; a failed poll leaves
the series as it was and the staleness grows (measured, alerted on). Nothing here trades: the
engine decides on what the store holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from tradeops.domain.errors import TradeopsError
from tradeops.domain.market import Bar
from tradeops.runtime.stats import RuntimeStats

log = logging.getLogger(__name__)


class CandleSource(Protocol):
    def closed_candles(self, symbol: str, interval: str, since_ms: int | None, limit: int) -> list[Bar]: ...


class LiveSeries(Protocol):
    def append(self, bar: Bar, interval_ms: int) -> None: ...

    def advance_to(self, now_ms: int) -> list[Bar]: ...

    def bar_count(self, venue: str, symbol: str) -> int: ...

    def last_bar(self, venue: str, symbol: str) -> Bar | None: ...


class LiveMarket:
    """implements scheduler.RevealingMarket from REST polls."""

    def __init__(
        self,
        series: LiveSeries,
        sources: Mapping[str, CandleSource],
        instruments: Sequence[tuple[str, str]],
        interval: str,
        interval_ms: int,
        now_ms: Callable[[], int],
        stats: RuntimeStats,
        poll_ms: int = 1_000,
    ) -> None:
        self._series = series
        self._sources = sources
        self._instruments = list(instruments)
        self._interval = interval
        self._interval_ms = interval_ms
        self._now_ms = now_ms
        self._stats = stats
        self._poll_ms = poll_ms
        self._last_poll_ms = -(10**15)
        self._received_ms: dict[tuple[str, str], int] = {}

    def warm(self, bars: int) -> int:
        """Load the last `bars` closed candles of every instrument (history before the first cycle)."""
        return len(self._poll(limit=bars))

    def _poll(self, limit: int = 1000) -> list[Bar]:
        now = self._now_ms()
        self._last_poll_ms = now
        out: list[Bar] = []
        for venue, symbol in self._instruments:
            last = self._series.last_bar(venue, symbol)
            since = None if last is None else last.ts + self._interval_ms
            try:
                bars = self._sources[venue].closed_candles(symbol, self._interval, since, limit)
            except TradeopsError as exc:
                self._stats.exchange_errors[(venue, "market_data")] += 1
                log.warning("market data %s %s: %s", venue, symbol, exc)
                continue
            fresh = [b for b in bars if last is None or b.ts > last.ts]
            for bar in fresh:
                self._series.append(bar, self._interval_ms)
                last = bar
            if fresh:
                self._received_ms[(venue, symbol)] = now
            out.extend(fresh)
        self._series.advance_to(now)
        self.publish_staleness(now)
        return out

    def publish_staleness(self, now: int) -> None:
        """Seconds since each instrument last brought a new closed candle, minus one interval (the
        wait for the next close that is expected): 0 while data flows, growing when it stops."""
        for key in self._instruments:
            received = self._received_ms.get(key)
            age = (now - received - self._interval_ms) / 1000 if received is not None else float("inf")
            self._stats.market_data_staleness[key] = max(0.0, age)

    # --- the scheduler's protocol ------------------------------------------------------------------

    def advance_to(self, now_ms: int) -> list[Bar]:
        if now_ms - self._last_poll_ms < self._poll_ms:
            self.publish_staleness(now_ms)
            return []
        return self._poll()

    def next_reveal_ms(self) -> int | None:
        return max(self._now_ms(), self._last_poll_ms + self._poll_ms)

    def bar_count(self, venue: str, symbol: str) -> int:
        return self._series.bar_count(venue, symbol)
