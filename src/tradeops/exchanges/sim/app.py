"""The simulator's HTTP front: weights, faults, signatures, then the Binance endpoint; admin
endpoints under /_sim/ answer loopback clients only."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradeops.exchanges.sim import private, public
from tradeops.exchanges.sim.auth import authenticate
from tradeops.exchanges.sim.book import Account, Balance, Book
from tradeops.exchanges.sim.countdown import Countdowns
from tradeops.exchanges.sim.errors import SimError
from tradeops.exchanges.sim.faults import Faults
from tradeops.exchanges.sim.limits import WeightLimiter, too_many, weight_of
from tradeops.exchanges.sim.streams import Streams

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
SIGNED = frozenset({"order", "openOrders", "myTrades", "account", "countdownCancelAll"})
MAX_BODY = 64 * 1024
COUNTDOWN_CHECK_S = 0.1


@dataclass
class SimState:
    book: Book
    limiter: WeightLimiter
    step_ms: int  # wall ms per bar; 0: the market moves only through /_sim/bar or /_sim/advance
    faults: Faults = field(default_factory=Faults)
    clock_ms: Callable[[], int] = lambda: int(time.time() * 1000)
    requests: int = 0
    streams: Streams | None = None  # user-data WebSockets (served on their own port)
    countdowns: Countdowns = field(default_factory=Countdowns)  # the venue-side dead-man's switch
    _initial: dict[str, dict[str, tuple[Decimal, Decimal]]] = field(default_factory=dict, init=False)

    @property
    def accounts(self) -> dict[str, Account]:
        return self.book.accounts

    def __post_init__(self) -> None:
        self._initial = {
            key: {asset: (b.free, b.locked) for asset, b in account.balances.items()}
            for key, account in self.accounts.items()
        }

    def reset(self) -> None:
        """Back to the start: initial balances, no orders or trades, no faults, fresh weights."""
        for key, account in self.accounts.items():
            account.balances = {a: Balance(f, lk) for a, (f, lk) in self._initial.get(key, {}).items()}
        self.book.clear()
        self.countdowns.clear()
        self.book.fill_ratio = None
        self.faults = Faults()
        self.book.market.stale = False
        self.limiter.ips.clear()

    def advance(self, bars: int = 1) -> int:
        moved = 0
        for _ in range(bars):
            if not self.book.market.advance():
                break
            moved += 1
            self.book.on_bar(self.clock_ms())
            self.on_bar()
        return moved

    def on_bar(self) -> None:
        """The market moved: the market-data streams send the closed bar and the new one."""
        if self.streams is not None and self.streams.market is not None:
            self.streams.market.on_bar()


def _error(exc: SimError, used: int | None) -> JSONResponse:
    headers = dict(exc.headers)
    if used is not None:
        headers["X-MBX-USED-WEIGHT-1M"] = str(used)
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


async def _params(request: Request) -> tuple[str, str, dict[str, str]]:
    body = (await request.body())[:MAX_BODY].decode("utf-8", errors="replace")
    query = request.url.query
    params = dict(parse_qsl(body, keep_blank_values=True))
    params.update(parse_qsl(query, keep_blank_values=True))  # the query string wins, as on Binance
    return query, body, params


def _endpoint(
    state: SimState, path: str, method: str, params: dict[str, str], account: Account | None
) -> Any:
    book, now = state.book, state.clock_ms()
    market = book.market
    handlers: dict[tuple[str, str], Callable[[], Any]] = {
        ("ping", "GET"): dict,
        ("time", "GET"): lambda: {"serverTime": now},
        ("exchangeInfo", "GET"): lambda: public.exchange_info(market, now, state.limiter.limit),
        ("klines", "GET"): lambda: public.klines(market, params),
        ("ticker/price", "GET"): lambda: public.ticker_price(market, params),
        ("ticker/bookTicker", "GET"): lambda: public.book_ticker(market, params),
        ("ticker/24hr", "GET"): lambda: public.ticker_24hr(market, params, now),
        ("depth", "GET"): lambda: public.depth(market, params),
        ("order", "GET"): lambda: private.query_order(book, _acct(account), params),
        ("order", "DELETE"): lambda: private.cancel_order(book, _acct(account), params, now),
        ("openOrders", "GET"): lambda: private.open_orders(book, _acct(account), params),
        ("myTrades", "GET"): lambda: private.my_trades(book, _acct(account), params),
        ("account", "GET"): lambda: private.account_view(book, _acct(account), now),
        ("countdownCancelAll", "POST"): lambda: state.countdowns.arm(book, _acct(account), params, now),
    }
    handler = handlers.get((path, method))
    if handler is None:
        raise SimError(404, -1000, f"Unknown endpoint {method} /api/v3/{path}.")
    return handler()


def _acct(account: Account | None) -> Account:
    assert account is not None
    return account


async def api(request: Request) -> Response:
    state: SimState = request.app.state.sim
    path = request.path_params["path"]
    method = request.method
    ip = request.client.host if request.client else "unknown"
    used: int | None = None
    state.requests += 1
    try:
        if state.faults.latency_ms:
            await asyncio.sleep(state.faults.latency_ms / 1000)
        if state.faults.take("storm_429"):
            raise too_many(state.faults.retry_after_s * 1000, state.limiter.limit)
        query, body, params = await _params(request)
        used = state.limiter.charge(ip, weight_of(path, method, params), state.clock_ms())
        if state.faults.take("errors_5xx"):
            raise SimError(503, -1001, "Internal error; unable to process your request. Please try again.")
        account = None
        if path == "userDataStream" and state.streams is not None:
            key = state.streams.listen_key(method, request.headers.get("X-MBX-APIKEY"), params)
            return JSONResponse(key, headers={"X-MBX-USED-WEIGHT-1M": str(used)})
        if path in SIGNED:
            account = authenticate(
                state.accounts, request.headers.get("X-MBX-APIKEY"), query, body, params, state.clock_ms()
            )
        if path == "order" and method == "POST":
            payload = private.new_order(state.book, _acct(account), params, state.clock_ms())
            if state.faults.take("hang_after_accept"):
                await asyncio.sleep(state.faults.hang_seconds)  # accepted, but the answer never comes
        else:
            payload = _endpoint(state, path, method, params, account)
    except SimError as exc:
        return _error(exc, used)
    return JSONResponse(payload, headers={"X-MBX-USED-WEIGHT-1M": str(used)})


# --- admin (loopback only) ----------------------------------------------------------------------


async def admin(request: Request) -> Response:
    state: SimState = request.app.state.sim
    if (request.client.host if request.client else "") not in LOOPBACK:
        return JSONResponse({"error": "the admin endpoint answers loopback clients only"}, status_code=403)
    action = request.path_params["action"]
    try:
        body = json.loads((await request.body())[:MAX_BODY] or b"{}")
        if not isinstance(body, dict):
            raise ValueError("send a JSON object")
        return JSONResponse(await _admin(state, action, request.method, body))
    except (ValueError, KeyError, ArithmeticError) as exc:
        return JSONResponse({"error": f"{action}: {exc}"}, status_code=400)


async def _admin(state: SimState, action: str, method: str, body: dict[str, Any]) -> dict[str, Any]:
    market = state.book.market
    if action == "keys":
        first = next(iter(state.accounts.values()))
        return {"api_key": first.api_key, "secret": first.secret}
    if action == "faults":
        if method == "POST":
            state.faults.update(body)
            ratio = state.faults.fill_ratio
            state.book.fill_ratio = None if ratio is None else Decimal(ratio)
            market.stale = state.faults.stale
        return state.faults.to_dict()
    if action == "bar" and method == "POST":
        d = {k: Decimal(str(body[k])) for k in ("open", "high", "low", "close", "volume")}
        market.push_bar(str(body["symbol"]), d["open"], d["high"], d["low"], d["close"], d["volume"])
        trades = state.book.on_bar(state.clock_ms())
        state.on_bar()
        return {"cursor": market.cursor, "trades": trades}
    if action == "drop-streams" and method == "POST":
        down = float(body.get("down_seconds", 0))
        if not 0 <= down <= 3600:
            raise ValueError("down_seconds must be in [0, 3600]")
        dropped = await state.streams.drop_all(down) if state.streams is not None else 0
        return {"dropped": dropped}
    if action == "reset" and method == "POST":
        state.reset()
        return {"reset": True}
    if action == "advance" and method == "POST":
        return {"advanced": state.advance(int(body.get("bars", 1))), "cursor": market.cursor}
    if action == "state":
        orders = list(state.book.orders.values())
        return {
            "orders": len(orders),
            "open_orders": sum(1 for o in orders if o.status in ("NEW", "PARTIALLY_FILLED")),
            "trades": len(state.book.trades),
            "client_order_ids": [o.client_order_id for o in orders],
            "requests": state.requests,
            "cursor": market.cursor,
            "countdowns": {"armed": state.countdowns.armed, "fired": state.countdowns.fired},
        }
    raise ValueError(f"unknown admin action {method} /_sim/{action}")


async def _ticker(state: SimState) -> None:
    while True:
        await asyncio.sleep(state.step_ms / 1000)
        state.advance()


async def _countdowns(state: SimState) -> None:
    while True:
        await asyncio.sleep(COUNTDOWN_CHECK_S)
        state.countdowns.expire(state.book, state.clock_ms())


def build_app(state: SimState) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(_ticker(state)) if state.step_ms > 0 else None
        checker = asyncio.create_task(_countdowns(state))
        try:
            yield
        finally:
            checker.cancel()
            if task is not None:
                task.cancel()

    app = Starlette(
        routes=[
            Route("/api/v3/{path:path}", api, methods=["GET", "POST", "DELETE", "PUT"]),
            Route("/_sim/{action}", admin, methods=["GET", "POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.sim = state
    return app
