"""WebSockets of the simulator (aiohttp, on its own port as Binance's stream hosts are):

- the WebSocket API, `/ws-api/v3`: `userDataStream.subscribe.signature` (what ccxt.pro uses for
  spot), `userDataStream.unsubscribe`, `ping`; events arrive as {"subscriptionId", "event"};
- the listenKey stream, `/ws/<listenKey>`, with the key from REST `POST /api/v3/userDataStream`
  (kept alive by PUT within 60 minutes, closed by DELETE); events arrive as they are.

Events: executionReport for every order change, outboundAccountPosition for the balances it moved.
`/ws/<stream>` and `/ws/<number>` are the public market-data streams (`market_streams.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tradeops.exchanges.sim.auth import authenticate
from tradeops.exchanges.sim.book import Account, SimOrder, SimTrade
from tradeops.exchanges.sim.errors import SimError
from tradeops.exchanges.sim.events import account_position, execution_report
from tradeops.exchanges.sim.market_streams import MarketStreams, is_market_path

LISTEN_KEY_TTL_MS = 60 * 60 * 1000
MAX_MESSAGE = 64 * 1024
MAX_CONNECTIONS = 200


@dataclass
class _Subscriber:
    ws: web.WebSocketResponse
    subscription_id: int | None  # None: a listenKey stream (events unwrapped)
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    def push(self, event: dict[str, Any]) -> None:
        payload = (
            event
            if self.subscription_id is None
            else {"subscriptionId": self.subscription_id, "event": event}
        )
        self.queue.put_nowait(payload)

    async def pump(self) -> None:
        while True:
            payload = await self.queue.get()
            try:
                await self.ws.send_str(json.dumps(payload))
            except (ConnectionError, RuntimeError):
                return  # the socket is gone; its handler cleans up


class Streams:
    def __init__(
        self,
        accounts: Mapping[str, Account],
        clock_ms: Callable[[], int],
        market: MarketStreams | None = None,
    ) -> None:
        self.accounts = accounts
        self.clock_ms = clock_ms
        self.market = market  # the public market-data streams, on the same port
        self.down_until_ms = 0  # fault: new stream connections are refused until then
        self.listen_keys: dict[str, tuple[str, int]] = {}  # key -> (api key, expiry ms)
        self.subscribers: dict[str, list[_Subscriber]] = {}
        self.sockets: set[web.WebSocketResponse] = set()
        self._ids = itertools.count(0)

    # --- the book's listener --------------------------------------------------------------

    def on_order_event(self, order: SimOrder, execution: str, trade: SimTrade | None, now_ms: int) -> None:
        for sub in self.subscribers.get(order.account.api_key, []):
            sub.push(execution_report(order, execution, trade, now_ms))
            sub.push(account_position(order, now_ms))

    # --- listen keys (REST) ---------------------------------------------------------------

    def _account(self, api_key: str | None) -> Account:
        account = self.accounts.get(api_key or "")
        if account is None:
            raise SimError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        return account

    def listen_key(self, method: str, api_key: str | None, params: Mapping[str, str]) -> dict[str, Any]:
        account = self._account(api_key)
        now = self.clock_ms()
        if method == "POST":
            key = secrets.token_urlsafe(48)[:60]
            self.listen_keys[key] = (account.api_key, now + LISTEN_KEY_TTL_MS)
            return {"listenKey": key}
        key = params.get("listenKey", "")
        owner = self.listen_keys.get(key)
        if owner is None or owner[0] != account.api_key or owner[1] < now:
            raise SimError(400, -1125, "This listenKey does not exist.")
        if method == "PUT":
            self.listen_keys[key] = (account.api_key, now + LISTEN_KEY_TTL_MS)
        else:
            del self.listen_keys[key]
        return {}

    # --- sockets --------------------------------------------------------------------------

    async def drop_all(self, down_seconds: float = 0.0) -> int:
        """Fault: close every stream socket at once, user data and market data (clients must
        reconnect and catch up), and refuse new ones for `down_seconds` (an outage)."""
        self.down_until_ms = self.clock_ms() + int(down_seconds * 1000)
        doomed = list(self.sockets)
        for ws in doomed:
            await ws.close(code=1011, message=b"dropped by the simulator")
        return len(doomed)

    def _refused(self) -> web.Response | None:
        if self.clock_ms() < self.down_until_ms:
            return web.json_response({"code": -1001, "msg": "Stream service unavailable."}, status=503)
        if len(self.sockets) >= MAX_CONNECTIONS:
            return web.json_response({"code": -1003, "msg": "Too many connections."}, status=429)
        return None

    async def listen_key_stream(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["listen_key"]
        refused = self._refused()
        if refused is not None:
            return refused
        if self.market is not None and name not in self.listen_keys and is_market_path(name):
            return await self.market.serve(request, name, self.sockets)
        owner = self.listen_keys.get(name)
        if owner is None or owner[1] < self.clock_ms():
            return web.json_response({"code": -1125, "msg": "This listenKey does not exist."}, status=400)
        ws = web.WebSocketResponse()
        sub = _Subscriber(ws, None)
        self.subscribers.setdefault(owner[0], []).append(sub)
        return await self._serve_with(request, ws, None, sub)

    async def ws_api(self, request: web.Request) -> web.StreamResponse:
        refused = self._refused()
        if refused is not None:
            return refused
        return await self._serve_with(request, web.WebSocketResponse(), self._request, None)

    async def _serve_with(
        self,
        request: web.Request,
        ws: web.WebSocketResponse,
        on_text: Callable[[web.WebSocketResponse, str], tuple[dict[str, Any], _Subscriber | None]] | None,
        sub: _Subscriber | None,
    ) -> web.WebSocketResponse:
        await ws.prepare(request)
        self.sockets.add(ws)
        subs: list[_Subscriber] = [] if sub is None else [sub]
        pumps = [asyncio.create_task(s.pump()) for s in subs]
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT or on_text is None:
                    continue
                reply, new = on_text(ws, message.data)
                if new is not None:
                    subs.append(new)
                    pumps.append(asyncio.create_task(new.pump()))
                await ws.send_str(json.dumps(reply))
        finally:
            self.sockets.discard(ws)
            for listed in self.subscribers.values():
                for s in subs:
                    if s in listed:
                        listed.remove(s)
            for pump in pumps:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump
        return ws

    def _request(self, ws: web.WebSocketResponse, text: str) -> tuple[dict[str, Any], _Subscriber | None]:
        """One WebSocket API request -> (response, new subscriber or None)."""
        try:
            message = json.loads(text)
            request_id, method = message.get("id"), message.get("method")
            params = message.get("params") or {}
            if not isinstance(params, dict):
                raise SimError(400, -1102, "params must be an object")
        except (ValueError, AttributeError):
            return {"id": None, "status": 400, "error": {"code": -1102, "msg": "Malformed request."}}, None
        try:
            if method == "ping":
                return {"id": request_id, "status": 200, "result": {}}, None
            if method == "userDataStream.subscribe.signature":
                fields = {str(k): str(v) for k, v in params.items()}
                query = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "signature")
                account = authenticate(
                    self.accounts,
                    fields.get("apiKey"),
                    f"{query}&signature={fields.get('signature', '')}",
                    "",
                    fields,
                    self.clock_ms(),
                )
                sub = _Subscriber(ws, next(self._ids))
                self.subscribers.setdefault(account.api_key, []).append(sub)
                return {
                    "id": request_id,
                    "status": 200,
                    "result": {"subscriptionId": sub.subscription_id},
                }, sub
            if method == "userDataStream.unsubscribe":
                wanted = params.get("subscriptionId")
                for listed in self.subscribers.values():
                    listed[:] = [
                        s
                        for s in listed
                        if not (s.ws is ws and (wanted is None or s.subscription_id == wanted))
                    ]
                return {"id": request_id, "status": 200, "result": {}}, None
            raise SimError(400, -1102, f"Unknown method {method!r}.")
        except SimError as exc:
            return {"id": request_id, "status": exc.status, "error": exc.body()}, None


def build_stream_app(streams: Streams) -> web.Application:
    app = web.Application()
    app.router.add_get("/ws-api/v3", streams.ws_api)
    app.router.add_get("/ws/{listen_key}", streams.listen_key_stream)
    return app
