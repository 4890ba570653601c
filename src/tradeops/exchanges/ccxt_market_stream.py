"""Closed candles by ccxt.pro's websocket `watch_ohlcv` (a background thread, one watcher per
symbol on one socket), with REST as the catch-up and the fallback.

The stream only vouches for what the connection saw: the first candle a (re)connection brings
(`first_ts`, the candle in progress) and every candle after it, each emitted once it is closed
(the venue has moved on to the next candle; its last update was the final one). A candle older
than `first_ts`, a jump over a candle, a silent socket or a stream that is down are answered by
REST (`fetch_ohlcv` since the last closed candle held), so no bar is lost; the caller keeps only
candles newer than the last it holds, so none is doubled. After `max_failures` connections in a
row that bring nothing, the stream gives up and REST polling serves the rest of the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tradeops.domain.market import Bar, interval_to_ms
from tradeops.exchanges.ccxt_market import CcxtMarketData
from tradeops.exchanges.loop_thread import LoopThread
from tradeops.runtime.stats import VenueRequestStats

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 10.0
KEEP_CLOSED = 1_000  # closed candles held per symbol (the reader takes them within a poll)
STOP_TIMEOUT_S = 5.0


@dataclass
class MarketStreamHealth:
    """What the reader and the metrics see (written by the stream thread)."""

    connected: bool = False
    generation: int = 0  # connections that brought data
    reconnects: int = 0  # of those, the ones after the first
    failures: int = 0  # connections in a row that brought nothing
    errors: int = 0  # lost or failed connections
    fallen_back: bool = False  # gave up: REST polling for the rest of the run
    last_message_ms: int = 0


@dataclass
class _Tape:
    """One symbol as the current connection saw it."""

    first_ts: int | None = None  # complete from this candle on
    open_row: list[float] | None = None  # the candle in progress, as last updated
    closed: dict[int, Bar] = field(default_factory=dict)


class CandleStream:
    """Watches one venue's candles of `symbols` in a daemon thread."""

    def __init__(
        self,
        client_factory: Callable[[], Any],
        venue: str,
        symbols: Sequence[str],
        interval: str,
        *,
        backoff_s: float = 0.5,
        max_failures: int = 5,
        silence_ms: int | None = None,
        requests: VenueRequestStats | None = None,
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        self._factory = client_factory
        self.venue = venue
        self.symbols = list(symbols)
        self.interval = interval
        self.interval_ms = interval_to_ms(interval)
        self.backoff_s = backoff_s
        self.max_failures = max_failures
        # a connected socket this quiet cannot vouch for the newest candles: REST answers
        self.silence_ms = silence_ms if silence_ms is not None else self.interval_ms + 10_000
        self.requests = requests
        self.clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self.health = MarketStreamHealth()
        self._tapes = {s: _Tape() for s in self.symbols}
        self._lock = threading.Lock()
        self._runner = LoopThread(f"market-stream-{venue}", self._serve)
        self._stopping = False
        self._delivered = False  # the current connection brought data

    # --- the reader's side --------------------------------------------------------------------

    def closed_since(self, symbol: str, since_ms: int | None) -> list[Bar] | None:
        """The closed candles from `since_ms` on, or None when the stream cannot vouch that it
        saw every one of them (REST must answer)."""
        health = self.health
        if since_ms is None or not health.connected or health.fallen_back:
            return None
        if self.clock_ms() - health.last_message_ms > self.silence_ms:
            return None
        with self._lock:
            tape = self._tapes.get(symbol)
            if tape is None or tape.first_ts is None or since_ms < tape.first_ts:
                return None
            return [bar for ts, bar in sorted(tape.closed.items()) if ts >= since_ms]

    @property
    def ready(self) -> bool:
        """Connected, and every symbol's candle in progress seen (the stream vouches for each)."""
        if not self.health.connected:
            return False
        with self._lock:
            return all(tape.first_ts is not None for tape in self._tapes.values())

    def start(self) -> None:
        self._runner.start()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        self._stopping = True
        self._runner.stop(timeout)

    # --- the stream thread --------------------------------------------------------------------

    async def _serve(self) -> None:
        client = None
        try:
            try:
                client = self._factory()
            except Exception as exc:  # cannot even build the client: REST polling for the run
                self.health.fallen_back = True
                log.warning("%s market stream: %s; REST polling serves market data", self.venue, exc)
                return
            client.newUpdates = True  # each watch answers the candles updated since the last one
            while not self._stopping:
                delivered = await self._connection(client)
                self._lost(delivered)
                if self.health.failures >= self.max_failures:
                    self.health.fallen_back = True
                    log.warning(
                        "%s market stream: %d connections in a row brought no data; REST polling "
                        "serves market data for the rest of the run",
                        self.venue,
                        self.health.failures,
                    )
                    return
                doubling = max(self.health.failures - 1, 0)
                await asyncio.sleep(min(self.backoff_s * 2**doubling, MAX_BACKOFF_S))
        finally:
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.close()

    async def _connection(self, client: Any) -> bool:
        """Watch every symbol (one task each, one socket) until the connection fails; True when
        it brought data."""
        self._delivered = False
        watchers = [asyncio.create_task(self._watch(client, symbol)) for symbol in self.symbols]
        try:
            done, _ = await asyncio.wait(watchers, return_when=asyncio.FIRST_EXCEPTION)
            failed = next((t.exception() for t in done if t.exception() is not None), None)
            if failed is not None:  # every failure of the socket or the client: reconnect
                self.health.errors += 1
                log.warning("%s market stream: %s: %s", self.venue, type(failed).__name__, failed)
        finally:
            for watcher in watchers:
                watcher.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
        return self._delivered

    async def _watch(self, client: Any, symbol: str) -> None:
        while not self._stopping:
            rows = await client.watch_ohlcv(symbol, self.interval)
            if not self._delivered:
                self._delivered = True
                self._connected()
            self.health.last_message_ms = self.clock_ms()
            self._on_rows(symbol, rows)

    def _connected(self) -> None:
        health = self.health
        health.generation += 1
        health.reconnects = health.generation - 1
        health.failures = 0
        health.connected = True
        if self.requests is not None:
            self.requests.market_stream_reconnects = health.reconnects

    def _lost(self, delivered: bool) -> None:
        self.health.connected = False
        if not delivered:
            self.health.failures += 1
        with self._lock:
            self._tapes = {s: _Tape() for s in self.symbols}  # a new connection vouches afresh

    def _on_rows(self, symbol: str, rows: Sequence[Sequence[float]]) -> None:
        with self._lock:
            tape = self._tapes.get(symbol)
            if tape is None:
                return
            for row in sorted((list(r) for r in rows), key=lambda r: r[0]):
                ts = int(row[0])
                if tape.open_row is None:  # the connection's first candle
                    tape.open_row, tape.first_ts = row, ts
                    continue
                opened = int(tape.open_row[0])
                if ts < opened:
                    continue  # an update of a candle already closed here: the first close stands
                if ts == opened + self.interval_ms:
                    self._close(symbol, tape, tape.open_row)
                elif ts > opened:
                    tape.first_ts = ts  # a candle was skipped: the stream vouches from here on
                tape.open_row = row

    def _close(self, symbol: str, tape: _Tape, row: list[float]) -> None:
        ts = int(row[0])
        o, h, low, c, v = (float(x) for x in row[1:6])
        tape.closed[ts] = Bar(self.venue, symbol, ts, o, h, low, c, v)
        while len(tape.closed) > KEEP_CLOSED:
            del tape.closed[min(tape.closed)]


class StreamedMarketData:
    """implements runtime.live_market.CandleSource: the stream's closed candles where it vouches
    for them, REST (`fetch_ohlcv` since the last held candle) otherwise."""

    def __init__(self, rest: CcxtMarketData, stream: CandleStream) -> None:
        self.rest = rest
        self.stream = stream
        self.venue = rest.venue
        self.served = {"stream": 0, "rest": 0}  # calls answered by each path

    def closed_candles(self, symbol: str, interval: str, since_ms: int | None, limit: int) -> list[Bar]:
        if interval == self.stream.interval:
            bars = self.stream.closed_since(symbol, since_ms)
            if bars is not None:
                self.served["stream"] += 1
                return bars[:limit]
        self.served["rest"] += 1
        return self.rest.closed_candles(symbol, interval, since_ms, limit)
