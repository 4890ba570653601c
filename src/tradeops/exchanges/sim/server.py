"""Build and run the simulator process: market (synthetic or candle files), funded accounts,
then uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import signal
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradeops.domain.errors import UserInputError
from tradeops.domain.money import quantize_down, to_decimal
from tradeops.exchanges.paper.matching import MatchModel
from tradeops.exchanges.sim.app import SimState, build_app
from tradeops.exchanges.sim.book import Account, Balance, Book
from tradeops.exchanges.sim.limits import WeightLimiter
from tradeops.exchanges.sim.market import Candles, SimMarket
from tradeops.exchanges.sim.market_streams import MarketStreams
from tradeops.exchanges.sim.streams import Streams, build_stream_app

HOST = "127.0.0.1"
MAX_ACCOUNTS_BYTES = 1_000_000
MAX_ACCOUNTS = 100
DEFAULT_QUOTE_FUNDS = Decimal(100_000)
DEFAULT_BASE_FUNDS_IN_QUOTE = Decimal(20_000)


@dataclass(frozen=True)
class SimOptions:
    venue: str = "binance"
    port: int = 8765
    data: str | None = None
    symbols: tuple[str, ...] = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
    interval: str = "5m"
    step_ms: int = 300_000  # one bar per interval of wall time (real time); 0: scripted market
    history: int = 500
    accounts: str | None = None
    seed: int = 7
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    slippage_bps: Decimal = Decimal(0)  # market orders trade at the touch
    participation: Decimal = Decimal("0.1")
    min_notional: Decimal = Decimal(5)
    weight_limit: int = 6000
    ws_port: int | None = None


def _default_account(market: SimMarket) -> Account:
    account = Account(api_key=secrets.token_hex(32), secret=secrets.token_hex(32))
    quotes = {m.quote for m in market.symbols.values()}
    for quote in quotes:
        account.balances[quote] = Balance(free=DEFAULT_QUOTE_FUNDS)
    for market_id, m in market.symbols.items():
        funds = quantize_down(DEFAULT_BASE_FUNDS_IN_QUOTE / market.last(market_id), m.filters.step)
        account.balances.setdefault(m.base, Balance(free=funds))
    return account


def load_accounts(path: str) -> list[Account]:
    """`{"accounts": [{"api_key": ..., "secret": ..., "balances": {"USDT": 1000}}]}` (JSON)."""
    file = Path(path)
    if not file.is_file():
        raise UserInputError(f"--accounts {path}: no such file")
    if file.stat().st_size > MAX_ACCOUNTS_BYTES:
        raise UserInputError(f"--accounts {path}: larger than {MAX_ACCOUNTS_BYTES} bytes")
    try:
        raw: Any = json.loads(file.read_text(encoding="utf-8"))
        entries = raw["accounts"]
        if not isinstance(entries, list) or not 0 < len(entries) <= MAX_ACCOUNTS:
            raise ValueError(f"accounts must be a list of 1..{MAX_ACCOUNTS} entries")
        accounts = []
        for i, entry in enumerate(entries):
            key, secret = str(entry["api_key"]), str(entry["secret"])
            if not 16 <= len(key) <= 128 or not 16 <= len(secret) <= 128:
                raise ValueError(f"accounts[{i}]: api_key and secret need 16..128 characters")
            balances = {
                str(a): Balance(free=to_decimal(str(v))) for a, v in entry.get("balances", {}).items()
            }
            if any(b.free < 0 for b in balances.values()):
                raise ValueError(f"accounts[{i}].balances: amounts must be >= 0")
            accounts.append(Account(key, secret, balances))
    except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
        raise UserInputError(
            f'--accounts {path}: {exc}; expected {{"accounts": [{{"api_key", "secret", "balances"}}]}}'
        ) from None
    return accounts


def build_state(
    opts: SimOptions, series: Sequence[Candles], accounts: Sequence[Account] | None = None
) -> SimState:
    if opts.venue != "binance":
        raise UserInputError(f"--venue {opts.venue}: the simulator speaks the binance spot API only")
    chosen = list(accounts) if accounts else (load_accounts(opts.accounts) if opts.accounts else [])
    market = SimMarket.from_series(series, int(time.time() * 1000), opts.history, opts.min_notional)
    model = MatchModel(
        maker_fee=opts.maker_fee,
        taker_fee=opts.taker_fee,
        slippage=opts.slippage_bps / Decimal(10_000),
        participation=opts.participation,
        quantity_step=Decimal(0),  # per symbol: the LOT_SIZE step
    )
    book = Book(market, model)
    for account in chosen or [_default_account(market)]:
        book.accounts[account.api_key] = account
    state = SimState(book=book, limiter=WeightLimiter(limit=opts.weight_limit), step_ms=opts.step_ms)
    state.streams = Streams(book.accounts, state.clock_ms, MarketStreams(market, state.clock_ms))
    book.listeners.append(state.streams.on_order_event)
    return state


def _listen(port: int, flag: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Inherited by accepted connections: small answers go out at once (no 40 ms delayed-ACK stall).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((HOST, port))
        sock.listen(128)  # connect at once: requests queue until the server loop accepts them
    except OSError as exc:
        sock.close()
        raise UserInputError(f"{flag} {port}: cannot listen on {HOST} ({exc.strerror})") from None
    return sock


def serve(opts: SimOptions, series: Sequence[Candles]) -> None:
    """Bind 127.0.0.1:port (0: any free port) for REST and ws_port for the WebSockets
    (default port + 1000, any free port with port 0), say where, and serve until SIGTERM/SIGINT."""
    import uvicorn

    state = build_state(opts, series)
    rest = _listen(opts.port, "--port")
    port = rest.getsockname()[1]
    ws_sock = _listen(
        opts.ws_port if opts.ws_port is not None else (port + 1000 if opts.port else 0), "--ws-port"
    )
    ws_port = ws_sock.getsockname()[1]
    symbols = ", ".join(m.symbol for m in state.book.market.symbols.values())
    print(
        f"exchange-sim: {opts.venue} spot on http://{HOST}:{port} ({symbols}), user data and "
        f"market streams on ws://{HOST}:{ws_port}/ws; keys: tradeops exchange-sim keys --port {port}",
        flush=True,
    )
    config = uvicorn.Config(
        build_app(state), log_level="warning", access_log=False, http="httptools", lifespan="on"
    )
    asyncio.run(_serve_both(_quiet_server(config), rest, state, ws_sock))
    print("exchange-sim: stopped", file=sys.stderr, flush=True)


def _quiet_server_class() -> Any:
    import uvicorn

    class QuietServer(uvicorn.Server):
        """Signals are ours (see _serve_both): stop both servers, then exit 0."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return QuietServer


def _quiet_server(config: Any) -> Any:
    return _quiet_server_class()(config)


async def _serve_both(server: Any, rest: socket.socket, state: SimState, ws_sock: socket.socket) -> None:
    from aiohttp import web

    assert state.streams is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    runner = web.AppRunner(build_stream_app(state.streams), handle_signals=False)
    await runner.setup()
    await web.SockSite(runner, ws_sock).start()
    try:
        await server.serve(sockets=[rest])  # returns on SIGTERM/SIGINT
    finally:
        await state.streams.drop_all()
        await runner.cleanup()
