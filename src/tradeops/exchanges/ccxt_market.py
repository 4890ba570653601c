"""Live market data by ccxt REST polling: closed candles and the touch (best bid/ask)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tradeops.domain.market import Bar, Quote, interval_to_ms
from tradeops.exchanges.ccxt_calls import RetryPolicy, VenueCaller
from tradeops.exchanges.errors import translate_vendor_errors


class CcxtMarketData:
    """implements runtime.live_market.CandleSource for one venue."""

    def __init__(self, exchange: Any, venue: str, policy: RetryPolicy | None = None) -> None:
        self._ex = exchange
        self.venue = venue
        self._caller = VenueCaller(exchange, venue, policy or RetryPolicy())

    def closed_candles(self, symbol: str, interval: str, since_ms: int | None, limit: int) -> list[Bar]:
        """Candles from `since_ms` (the newest `limit` when None); the venue's last row is the
        candle still in progress and is left out, so every bar returned is closed."""
        with translate_vendor_errors(self.venue):
            rows = self._caller.call(self._ex.fetch_ohlcv, symbol, interval, since_ms, limit)
        rows = sorted(rows, key=lambda r: r[0])[:-1]
        return [
            Bar(
                self.venue, symbol, int(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4]), float(r[5])
            )
            for r in rows
        ]

    def quote(self, symbol: str, ts_ms: int) -> Quote | None:
        with translate_vendor_errors(self.venue):
            book = self._caller.call(self._ex.fetch_ticker, symbol)
        bid, ask = book.get("bid"), book.get("ask")
        if not bid or not ask:
            return None
        return Quote(
            self.venue,
            symbol,
            ts_ms,
            float(bid),
            float(ask),
            float(book.get("bidVolume") or 0),
            float(book.get("askVolume") or 0),
        )

    @staticmethod
    def interval_ms(interval: str) -> int:
        return interval_to_ms(interval)


def fetch_candles(exchange: Any, symbol: str, interval: str, since_ms: int, limit: int = 1000) -> np.ndarray:
    """OHLCV rows [ts, o, h, l, c, v] from `since_ms`, paging until the venue has no more."""
    step = interval_to_ms(interval)
    rows: list[list[float]] = []
    cursor = since_ms
    with translate_vendor_errors(getattr(exchange, "id", "ccxt")):
        while True:
            page = exchange.fetch_ohlcv(symbol, interval, since=cursor, limit=limit)
            fresh = [r for r in page if not rows or r[0] > rows[-1][0]]
            if not fresh:
                break
            rows.extend(fresh)
            cursor = int(fresh[-1][0]) + step
            if len(page) < limit:
                break
    return np.asarray(rows, dtype=float).reshape(-1, 6)
