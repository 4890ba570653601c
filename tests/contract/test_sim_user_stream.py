"""User-data WebSockets of the simulator: an unmodified ccxt.pro client receives its fills and
order updates through the WebSocket API subscription; the listenKey stream works by REST key;
a dropped socket is closed on the client, and the fill it missed is still found over REST."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from decimal import Decimal

import aiohttp
import ccxt
import ccxt.pro
import pytest

from tradeops.exchanges.ccxt_client import SPOT_OPTIONS, point_at

from .venues import SYMBOL, SimVenue, request


def _pro(sim) -> ccxt.pro.binance:
    client = ccxt.pro.binance(
        {"apiKey": sim.api_key, "secret": sim.secret, "options": dict(SPOT_OPTIONS["binance"])}
    )
    point_at(client, sim.url)
    client.urls["api"]["ws"]["ws-api"]["spot"] = f"{sim.ws_url}/ws-api/v3"
    return client


def test_ccxt_pro_watches_its_fills_and_orders(sim):
    async def scenario() -> tuple[list, list, dict]:
        client = _pro(sim)
        try:
            await client.load_markets()
            trades = asyncio.ensure_future(client.watch_my_trades(SYMBOL))
            await asyncio.sleep(0.5)  # subscribed before the order
            placed = await client.create_order(SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "ws-1"})
            got_trades = await asyncio.wait_for(trades, 10)
            orders = asyncio.ensure_future(client.watch_orders(SYMBOL))
            await asyncio.sleep(0.2)
            await client.create_order(SYMBOL, "limit", "buy", 0.01, 30_000, {"clientOrderId": "ws-2"})
            got_orders = await asyncio.wait_for(orders, 10)
            return got_trades, got_orders, placed
        finally:
            await client.close()

    trades, orders, placed = asyncio.run(scenario())
    assert [(t["id"], t["order"], t["takerOrMaker"]) for t in trades] == [
        (placed["trades"][0]["id"], placed["id"], "taker")
    ]
    assert trades[0]["fee"] == {"currency": "BTC", "cost": 1e-05}
    assert ("ws-2", "open") in [(o["clientOrderId"], o["status"]) for o in orders]


def _subscribe_message(sim) -> str:
    params = {"apiKey": sim.api_key, "timestamp": str(int(time.time() * 1000))}
    query = "&".join(f"{k}={params[k]}" for k in sorted(params))
    params["signature"] = hmac.new(sim.secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    return json.dumps({"id": "1", "method": "userDataStream.subscribe.signature", "params": params})


def test_a_dropped_stream_closes_and_the_missed_fill_is_found_over_rest(sim):
    venue = SimVenue(sim)
    limit = (venue.last() * Decimal("0.99")).quantize(Decimal("0.01"))
    ack = venue.exchange.submit(request(venue, "0.01", limit=limit))

    async def scenario() -> tuple[dict, list[str], aiohttp.WSMsgType]:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{sim.ws_url}/ws-api/v3") as ws:
            await ws.send_str(_subscribe_message(sim))
            reply = json.loads((await ws.receive(timeout=5)).data)
            await asyncio.to_thread(venue.exchange.cancel, ack.order_id)
            events = [json.loads((await ws.receive(timeout=5)).data)["event"]["e"] for _ in range(2)]
            await asyncio.to_thread(sim.admin, "drop-streams", {})
            closed = await ws.receive(timeout=5)
            return reply, events, closed.type

    reply, events, closed = asyncio.run(scenario())
    assert reply["status"] == 200 and reply["result"]["subscriptionId"] >= 0
    assert events == ["executionReport", "outboundAccountPosition"]
    assert closed in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    second = venue.exchange.submit(request(venue, "0.01", limit=limit))  # while no stream listens
    fills = venue.bar(limit - 1, venue.last())
    assert [(f.order_id, f.quantity) for f in fills] == [(second.order_id, Decimal("0.01"))]


def test_listen_key_stream_by_rest_key(sim):
    venue = SimVenue(sim)
    key = venue.client.publicPostUserDataStream()["listenKey"]

    async def scenario() -> dict:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{sim.ws_url}/ws/{key}") as ws:
            await asyncio.to_thread(venue.exchange.submit, request(venue, "0.01"))
            return json.loads((await ws.receive(timeout=5)).data)

    event = asyncio.run(scenario())
    assert (event["e"], event["x"], event["X"]) == ("executionReport", "NEW", "NEW")
    assert venue.client.publicPutUserDataStream({"listenKey": key}) == {}
    assert venue.client.publicDeleteUserDataStream({"listenKey": key}) == {}
    with pytest.raises(ccxt.BaseError, match="-1125"):
        venue.client.publicPutUserDataStream({"listenKey": key})
