"""Public market-data WebSockets of the simulator, read by an unmodified ccxt.pro client: klines
(the closed bar with its final values, then the new one), the 24h ticker and the book ticker agree
with REST; the stale fault silences them; the drop fault closes them and can hold them down."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import aiohttp
import ccxt
import ccxt.pro
import pytest

from tradeops.exchanges.ccxt_client import SPOT_OPTIONS, point_at, point_streams_at

from .sim_process import MARKET_SYMBOLS, SimProcess, module_sim

SYMBOLS = MARKET_SYMBOLS
DEADLINE_S = 10.0


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    with module_sim("--interval", "1m", "--symbols", ",".join(SYMBOLS)) as process:
        yield process


def _options() -> dict[str, Any]:
    return {"defaultType": "spot", **SPOT_OPTIONS["binance"]}


def _rest(sim: SimProcess) -> Any:
    client = ccxt.binance({"options": _options()})
    point_at(client, sim.url)
    return client


def _pro(sim: SimProcess) -> Any:
    client = ccxt.pro.binance({"options": _options()})
    point_at(client, sim.url)
    point_streams_at(client, f"{sim.ws_url}/ws")
    return client


def test_ccxt_pro_watches_klines_that_close_with_the_rest_values(sim):
    async def scenario() -> tuple[list[list[float]], list[list[float]]]:
        client = _pro(sim)
        try:
            first = await asyncio.wait_for(client.watch_ohlcv("ETH/USDT", "1m"), DEADLINE_S)
            sim.admin("advance", {"bars": 1})

            async def closing_then_new() -> list[list[float]]:
                seen: list[list[float]] = []
                while len({row[0] for row in seen}) < 2:  # the closing update, then the new bar
                    seen.extend(await client.watch_ohlcv("ETH/USDT", "1m"))
                return seen

            return first, await asyncio.wait_for(closing_then_new(), DEADLINE_S)  # bounded as a whole
        finally:
            await client.close()

    first, seen = asyncio.run(scenario())
    rest = _rest(sim).fetch_ohlcv("ETH/USDT", "1m", limit=2)  # [the bar just closed, the new one]
    assert [list(r) for r in first] == [rest[0]]  # the snapshot of a new subscription
    assert [seen[0], seen[-1]] == rest
    assert rest[1][0] - rest[0][0] == 60_000


def test_ccxt_pro_watches_the_ticker_and_the_touch_as_rest_reports_them(sim):
    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        client = _pro(sim)
        try:
            ticker = await asyncio.wait_for(client.watch_ticker("BTC/USDT", {"name": "ticker"}), DEADLINE_S)
            touch = await asyncio.wait_for(client.watch_bids_asks(["BTC/USDT"]), DEADLINE_S)
            return ticker, touch["BTC/USDT"]
        finally:
            await client.close()

    ticker, touch = asyncio.run(scenario())
    rest = _rest(sim).fetch_ticker("BTC/USDT")
    for field in ("bid", "ask", "last", "open", "high", "low", "baseVolume"):
        assert ticker[field] == rest[field], field
    assert (touch["bid"], touch["ask"]) == (rest["bid"], rest["ask"])
    assert touch["bid"] < touch["ask"] and touch["bidVolume"] > 0


async def _raw(sim: SimProcess, session: aiohttp.ClientSession, path: str) -> Any:
    return await session.ws_connect(f"{sim.ws_url}/ws/{path}")


async def _text(ws: Any) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.receive(), DEADLINE_S)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    data: dict[str, Any] = json.loads(message.data)
    return data


def test_subscriptions_are_answered_and_a_wrong_interval_is_refused(sim):
    async def scenario() -> list[dict[str, Any]]:
        async with aiohttp.ClientSession() as session:
            ws = await _raw(sim, session, "btcusdt@kline_1m")  # a raw stream by path
            out = [await _text(ws)]
            await ws.send_str(json.dumps({"method": "SUBSCRIBE", "params": ["ethusdt@kline_5m"], "id": 7}))
            out.append(await _text(ws))
            await ws.send_str(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 8}))
            out.append(await _text(ws))
            await ws.close()
            return out

    snapshot, refused, listed = asyncio.run(scenario())
    assert snapshot["e"] == "kline" and snapshot["k"]["s"] == "BTCUSDT" and snapshot["k"]["x"] is False
    assert refused["id"] == 7 and "1m" in refused["error"]["msg"]
    assert listed == {"result": ["btcusdt@kline_1m"], "id": 8}


def test_the_stale_fault_silences_the_streams_until_the_market_moves_again(sim):
    async def scenario() -> list[dict[str, Any]]:
        async with aiohttp.ClientSession() as session:
            ws = await _raw(sim, session, "0")
            await ws.send_str(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@kline_1m"], "id": 1}))
            answer = await _text(ws)  # while stale: the answer, but no snapshot
            sim.admin("faults", {"stale": False})
            sim.admin("advance", {"bars": 1})
            first = await _text(ws)  # the first event is the bar that closed, not a snapshot
            await ws.close()
            return [answer, first]

    sim.admin("faults", {"stale": True})
    try:
        answer, first = asyncio.run(scenario())
    finally:
        sim.admin("faults", {"stale": False})
    assert answer == {"result": None, "id": 1}
    assert first["e"] == "kline" and first["k"]["x"] is True


def test_the_drop_fault_closes_market_sockets_and_holds_the_streams_down(sim):
    async def scenario() -> tuple[aiohttp.WSMsgType, int]:
        async with aiohttp.ClientSession() as session:
            ws = await _raw(sim, session, "btcusdt@bookTicker")
            assert "b" in await _text(ws)
            assert sim.admin("drop-streams", {"down_seconds": 30})["dropped"] >= 1
            closed = (await asyncio.wait_for(ws.receive(), DEADLINE_S)).type
            try:
                await _raw(sim, session, "btcusdt@bookTicker")
                status = 101
            except aiohttp.WSServerHandshakeError as exc:
                status = exc.status
            return closed, status

    try:
        closed, status = asyncio.run(scenario())
    finally:
        sim.admin("drop-streams", {"down_seconds": 0})
    assert closed in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert status == 503
