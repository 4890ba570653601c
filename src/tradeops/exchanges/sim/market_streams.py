"""Public market-data WebSocket streams of the simulator, as Binance spot's raw streams:

- `/ws/<stream>` opens a socket subscribed to one stream; `/ws/<anything numeric>` (what ccxt.pro
  opens) an empty one; on either, `{"method": "SUBSCRIBE" | "UNSUBSCRIBE" | "LIST_SUBSCRIPTIONS",
  "params": [...], "id": N}` manages the streams and is answered `{"result": ..., "id": N}`;
- streams: `<symbol>@kline_<interval>` (the simulator's one interval), `<symbol>@bookTicker`,
  `<symbol>@ticker` and `<symbol>@miniTicker`, symbols in lower case (`btcusdt`).

A new subscription gets the current state at once; afterwards every bar the market moves sends,
per kline stream, the bar that closed (`"x": true`, final values) and then the bar that opened,
and the touch and 24h ticker of the new bar; between bars, every kline stream repeats the bar in
progress once a second (Binance pushes klines every 1-2 s). While the `stale` fault holds the market, the
streams send nothing (the sockets stay open: a silent feed, as a stuck venue feed is).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tradeops.exchanges.sim.market import SimMarket, SymbolMarket
from tradeops.exchanges.sim.public import book_ticker, ticker_24hr

STREAM = re.compile(r"^([a-z0-9]{2,20})@(kline_[0-9]+[smhdwM]|bookTicker|ticker|miniTicker)$")
MAX_STREAMS_PER_SOCKET = 1024
MAX_MESSAGE = 64 * 1024
KLINE_UPDATE_S = 1.0


def is_market_path(name: str) -> bool:
    """A `/ws/<name>` path that opens a market-data socket (not a listenKey)."""
    return (name.isdigit() and len(name) <= 6) or STREAM.match(name) is not None


@dataclass
class _Socket:
    ws: web.WebSocketResponse
    streams: list[str] = field(default_factory=list)
    queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    async def pump(self) -> None:
        while True:
            payload = await self.queue.get()
            try:
                await self.ws.send_str(payload)
            except (ConnectionError, RuntimeError):
                return  # the socket is gone; its handler cleans up


class MarketStreams:
    def __init__(self, market: SimMarket, clock_ms: Callable[[], int]) -> None:
        self.market = market
        self.clock_ms = clock_ms
        self._sockets: list[_Socket] = []
        self._update_id = 0
        self._updates: asyncio.Task[None] | None = None

    # --- events ---------------------------------------------------------------------------

    def _symbol(self, stream: str) -> tuple[SymbolMarket, str]:
        found = STREAM.match(stream)
        if found is None:
            raise ValueError(f"Invalid request: unknown stream {stream!r}")
        market = self.market.symbols.get(found.group(1).upper())
        if market is None:
            raise ValueError(f"Invalid request: unknown symbol in {stream!r}")
        kind = found.group(2)
        if kind.startswith("kline_") and kind != f"kline_{market.interval}":
            raise ValueError(f"Invalid request: this simulator serves {market.interval} klines only")
        return market, kind

    def _kline(self, m: SymbolMarket, index: int, closed: bool, now: int) -> dict[str, Any]:
        ts, o, h, low, c, v = m.rows[index]
        return {
            "e": "kline",
            "E": now,
            "s": m.market_id,
            "k": {
                "t": ts,
                "T": ts + m.interval_ms - 1,
                "s": m.market_id,
                "i": m.interval,
                "f": 0,
                "L": 0,
                "o": str(o),
                "c": str(c),
                "h": str(h),
                "l": str(low),
                "v": str(v),
                "n": 1,
                "x": closed,
                "q": str(v * c),
                "V": "0",
                "Q": "0",
                "B": "0",
            },
        }

    def _ticker(self, m: SymbolMarket, kind: str, now: int) -> dict[str, Any]:
        if kind == "bookTicker":
            self._update_id += 1
            top = book_ticker(self.market, {"symbol": m.market_id})
            return {
                "u": self._update_id,
                "s": m.market_id,
                "b": top["bidPrice"],
                "B": top["bidQty"],
                "a": top["askPrice"],
                "A": top["askQty"],
            }
        t = ticker_24hr(self.market, {"symbol": m.market_id}, now)
        mini = {
            "E": now,
            "s": m.market_id,
            "c": t["lastPrice"],
            "o": t["openPrice"],
            "h": t["highPrice"],
            "l": t["lowPrice"],
            "v": t["volume"],
            "q": t["quoteVolume"],
        }
        if kind == "miniTicker":
            return {"e": "24hrMiniTicker", **mini}
        return {
            "e": "24hrTicker",
            **mini,
            "p": t["priceChange"],
            "P": t["priceChangePercent"],
            "w": t["weightedAvgPrice"],
            "x": t["prevClosePrice"],
            "Q": t["lastQty"],
            "b": t["bidPrice"],
            "B": t["bidQty"],
            "a": t["askPrice"],
            "A": t["askQty"],
            "O": t["openTime"],
            "C": t["closeTime"],
            "F": 0,
            "L": 0,
            "n": t["count"],
        }

    def _events(self, stream: str, moved: bool) -> list[dict[str, Any]]:
        """What `stream` sends now: after a move of the market (the closed bar first) or as the
        snapshot of a new subscription."""
        market, kind = self._symbol(stream)
        now, cursor = self.clock_ms(), self.market.cursor
        if kind.startswith("kline_"):
            closing = [self._kline(market, cursor - 1, True, now)] if moved and cursor > 0 else []
            return [*closing, self._kline(market, cursor, False, now)]
        return [self._ticker(market, kind, now)]

    def on_bar(self) -> None:
        """The market moved one bar: send every subscribed stream's events (none while stale)."""
        if self.market.stale:
            return
        for sock in self._sockets:
            for stream in sock.streams:
                for event in self._events(stream, moved=True):
                    sock.queue.put_nowait(json.dumps(event))

    async def _repeat_klines(self) -> None:
        while True:
            await asyncio.sleep(KLINE_UPDATE_S)
            if self.market.stale:
                continue
            for sock in self._sockets:
                for stream in sock.streams:
                    if "@kline_" in stream:
                        for event in self._events(stream, moved=False):
                            sock.queue.put_nowait(json.dumps(event))

    # --- sockets --------------------------------------------------------------------------

    def _subscribe(self, sock: _Socket, streams: list[str]) -> None:
        for stream in streams:
            self._symbol(stream)  # a bad name changes nothing
        if len(set(sock.streams) | set(streams)) > MAX_STREAMS_PER_SOCKET:
            raise ValueError(f"Invalid request: at most {MAX_STREAMS_PER_SOCKET} streams per connection")
        fresh = [s for s in dict.fromkeys(streams) if s not in sock.streams]
        sock.streams.extend(fresh)
        if not self.market.stale:
            for stream in fresh:
                for event in self._events(stream, moved=False):
                    sock.queue.put_nowait(json.dumps(event))

    def _request(self, sock: _Socket, text: str) -> dict[str, Any]:
        request_id: Any = None
        try:
            message = json.loads(text)
            request_id = message.get("id") if isinstance(message, dict) else None
            if not isinstance(message, dict):
                raise ValueError("Invalid request: send a JSON object")
            method, params = message.get("method"), message.get("params") or []
            if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                raise ValueError("Invalid request: params must be a list of stream names")
            if method == "SUBSCRIBE":
                self._subscribe(sock, params)
                return {"result": None, "id": request_id}
            if method == "UNSUBSCRIBE":
                sock.streams[:] = [s for s in sock.streams if s not in params]
                return {"result": None, "id": request_id}
            if method == "LIST_SUBSCRIPTIONS":
                return {"result": list(sock.streams), "id": request_id}
            raise ValueError(f"Invalid request: unknown method {method!r}")
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            return {"error": {"code": 2, "msg": str(exc)}, "id": request_id}

    async def serve(
        self, request: web.Request, name: str, registry: set[web.WebSocketResponse]
    ) -> web.StreamResponse:
        """One market-data socket (`registry` holds every open stream socket: the drop fault)."""
        if self._updates is None:
            self._updates = asyncio.get_running_loop().create_task(self._repeat_klines())
        ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE)
        await ws.prepare(request)
        sock = _Socket(ws)
        registry.add(ws)
        self._sockets.append(sock)
        pump = asyncio.create_task(sock.pump())
        try:
            if not name.isdigit():
                self._subscribe(sock, [name])
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    sock.queue.put_nowait(json.dumps(self._request(sock, message.data)))
        finally:
            registry.discard(ws)
            self._sockets.remove(sock)
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        return ws
