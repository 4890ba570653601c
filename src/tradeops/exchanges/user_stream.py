"""The account's user-data stream of a Binance-spot-API venue, by listenKey (a background thread).

The stream is a faster path for order updates, never the only one: the adapter books what it
brings and falls back to REST polling whenever the stream is down, and catches up by REST after
every (re)connect (`generation` changes), so a fill the socket dropped is still booked, once, by
its trade id.

Protocol (Binance spot): `POST /api/v3/userDataStream` with the `X-MBX-APIKEY` header answers
`{"listenKey": K}`; `<ws base>/<K>` streams the account's events; `PUT` with `listenKey=K` keeps
the key alive (it expires 60 minutes after the last keepalive). Events used here:
`executionReport` (one per order change; execution type `x` = NEW, TRADE, CANCELED, EXPIRED, ...).
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from tradeops.exchanges.loop_thread import LoopThread

log = logging.getLogger(__name__)

KEEPALIVE_S = 30 * 60.0  # well inside the key's 60 minutes
MAX_BACKOFF_S = 10.0
CLOSING = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
MAX_QUEUED = 100_000  # a consumer this far behind is not keeping up: the stream counts as down


@dataclass
class StreamHealth:
    """What the adapter and the metrics read (written by the stream thread)."""

    connected: bool = False
    generation: int = 0  # incremented at every successful (re)connect
    reconnects: int = 0  # connections after the first
    errors: int = 0  # failed connects or lost connections
    last_event_ms: int = 0


class ListenKeyStream:
    """Runs the listenKey stream in a daemon thread; `drain()` hands its events to the caller."""

    def __init__(
        self,
        rest_base: str,
        ws_base: str,
        api_key: str,
        venue: str,
        *,
        keepalive_s: float = KEEPALIVE_S,
        backoff_s: float = 0.2,
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        self.rest_base = rest_base.rstrip("/")
        self.ws_base = ws_base.rstrip("/")
        self.api_key = api_key
        self.venue = venue
        self.keepalive_s = keepalive_s
        self.backoff_s = backoff_s
        self.clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self.health = StreamHealth()
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._runner = LoopThread(f"user-stream-{venue}", self._serve)

    # --- the consumer's side ----------------------------------------------------------------

    @property
    def healthy(self) -> bool:
        return self.health.connected and self._events.qsize() < MAX_QUEUED

    def drain(self) -> list[dict[str, Any]]:
        out = []
        while True:
            try:
                out.append(self._events.get_nowait())
            except queue.Empty:
                return out

    def start(self) -> None:
        self._runner.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._runner.stop(timeout)

    # --- the stream thread --------------------------------------------------------------------

    async def _serve(self) -> None:
        try:
            await self._connections()
        finally:  # ended, or cancelled by stop(): the stream is down either way
            self.health.connected = False

    async def _connections(self) -> None:
        attempt = 0
        headers = {"X-MBX-APIKEY": self.api_key}
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
            while not self._stop.is_set():
                try:
                    key = await self._listen_key(session)
                    await self._consume(session, key)
                    attempt = 0
                except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
                    self.health.errors += 1
                    log.warning("%s user-data stream: %s", self.venue, exc)
                self.health.connected = False
                if self._stop.is_set():
                    return
                await self._sleep(min(self.backoff_s * 2**attempt, MAX_BACKOFF_S))
                attempt += 1

    async def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(min(0.05, seconds))

    async def _listen_key(self, session: aiohttp.ClientSession) -> str:
        async with session.post(f"{self.rest_base}/userDataStream") as resp:
            resp.raise_for_status()
            body = await resp.json(content_type=None)
        return str(body["listenKey"])

    async def _consume(self, session: aiohttp.ClientSession, key: str) -> None:
        async with session.ws_connect(f"{self.ws_base}/{key}", heartbeat=20.0) as ws:
            if self.health.generation:
                self.health.reconnects += 1
            self.health.generation += 1
            self.health.connected = True
            kept_alive = time.monotonic()
            while not self._stop.is_set():
                if time.monotonic() - kept_alive > self.keepalive_s:
                    async with session.put(f"{self.rest_base}/userDataStream", params={"listenKey": key}):
                        kept_alive = time.monotonic()
                try:
                    message = await ws.receive(timeout=0.2)
                except TimeoutError:
                    continue
                if message.type is aiohttp.WSMsgType.TEXT:
                    event = json.loads(message.data)
                    if isinstance(event, dict) and event.get("e") == "executionReport":
                        self.health.last_event_ms = self.clock_ms()
                        self._events.put(event)
                elif message.type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSED,
                    aiohttp.WSMsgType.ERROR,
                ):
                    self.health.errors += 1
                    return


def trade_of_report(event: dict[str, Any]) -> dict[str, Any]:
    """A TRADE executionReport as the ccxt-shaped trade the adapter books."""
    return {
        "id": str(event["t"]),
        "order": str(event["i"]),
        "amount": float(event["l"]),
        "price": float(event["L"]),
        "fee": {"cost": float(event.get("n") or 0), "currency": event.get("N")},
        "takerOrMaker": "maker" if event.get("m") else "taker",
        "timestamp": int(event.get("T") or 0) or None,
    }


class UserStream(Protocol):
    """What the adapter needs of a user-data stream."""

    health: StreamHealth

    @property
    def healthy(self) -> bool: ...

    def drain(self) -> list[dict[str, Any]]: ...

    def stop(self, timeout: float = 5.0) -> None: ...
