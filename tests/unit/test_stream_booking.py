"""The adapter's user-data stream path with a fake stream (the real one: tests/contract): reports
of our working orders become fills once per trade id; a close that arrives before all of the
order's trades keeps the order and asks for a REST catch-up; a reconnect asks for one too; the
dead-man's switch re-arms on its cadence."""

from __future__ import annotations

from typing import Any

from tradeops.exchanges.ccxt_adapter import CcxtExchange
from tradeops.exchanges.ccxt_calls import RetryPolicy, VenueCaller
from tradeops.exchanges.dead_man import CountdownDeadMan
from tradeops.exchanges.user_stream import StreamHealth


class FakeStream:
    def __init__(self) -> None:
        self.health = StreamHealth(connected=True, generation=1)
        self.events: list[dict[str, Any]] = []

    @property
    def healthy(self) -> bool:
        return self.health.connected

    def drain(self) -> list[dict[str, Any]]:
        out, self.events = self.events, []
        return out

    def stop(self, timeout: float = 5.0) -> None:
        self.health.connected = False


def _report(
    order_id: str, execution: str, status: str, trade: int, qty: str, executed: str
) -> dict[str, Any]:
    return {
        "e": "executionReport", "i": int(order_id), "x": execution, "X": status, "t": trade,
        "l": qty, "L": "40000.00", "n": "0.00001", "N": "BTC", "m": True, "T": 1, "z": executed,
    }  # fmt: skip


def _adapter(stream: FakeStream) -> CcxtExchange:
    exchange = CcxtExchange(object(), "binance", poll_interval_ms=0, stream=stream)
    row = {
        "client_order_id": "vt-1", "strategy": "volatility_target", "venue": "binance", "symbol": "BTC/USDT",
        "side": "buy", "quantity": "0.02", "filled": "0", "order_id": "7", "order_type": "limit",
        "limit_price": "40000.00",
    }  # fmt: skip
    exchange.restore([row], [])
    exchange._caught_up = 1  # as after the catch-up poll of this generation
    return exchange


def test_trades_are_booked_once_and_a_complete_close_forgets_the_order():
    stream = FakeStream()
    exchange = _adapter(stream)
    stream.events = [
        _report("7", "TRADE", "PARTIALLY_FILLED", 11, "0.01", "0.01"),
        _report("7", "TRADE", "PARTIALLY_FILLED", 11, "0.01", "0.01"),  # the same trade again
        _report("7", "TRADE", "FILLED", 12, "0.01", "0.02"),
        _report("99", "TRADE", "FILLED", 13, "1", "1"),  # not ours
    ]
    fills = exchange._from_stream()
    assert [f.trade_id for f in fills] == ["11", "12"]
    assert {f.liquidity.value for f in fills} == {"maker"} and fills[0].fee_asset == "BTC"
    assert exchange.open_order_ids() == [] and not exchange._rest_needed()


def test_a_close_before_its_trades_keeps_the_order_and_asks_rest_to_catch_up():
    stream = FakeStream()
    exchange = _adapter(stream)
    stream.events = [_report("7", "TRADE", "FILLED", 12, "0.01", "0.02")]  # trade 11 never came
    assert [f.trade_id for f in exchange._from_stream()] == ["12"]
    assert exchange.open_order_ids() == ["7"] and exchange._rest_needed()


def test_a_reconnect_or_a_stream_down_asks_for_rest():
    stream = FakeStream()
    exchange = _adapter(stream)
    assert not exchange._rest_needed()
    stream.health.generation = 2  # reconnected: what the socket missed comes by REST
    assert exchange._rest_needed()
    exchange._caught_up = 2
    stream.health.connected = False
    assert exchange._rest_needed()


class FakeCountdownClient:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def market_id(self, symbol: str) -> str:
        return symbol.replace("/", "")

    def request(self, path: str, api: list[str], method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.sent.append({"path": path, "api": api, "method": method, **params})
        return {}


def test_the_dead_man_switch_rearms_every_quarter_countdown_for_every_symbol():
    client = FakeCountdownClient()
    dead_man = CountdownDeadMan(
        VenueCaller(client, "binance", RetryPolicy()), ["ETH/USDT", "BTC/USDT"], 8_000
    )
    assert [dead_man.beat(t) for t in (0, 1_000, 1_999, 2_000, 3_000, 4_000)] == [
        True, False, False, True, False, True,
    ]  # fmt: skip
    assert len(client.sent) == 6 and {s["symbol"] for s in client.sent} == {"BTCUSDT", "ETHUSDT"}
    assert all(s["countdownTime"] == 8_000 and s["api"] == ["private"] for s in client.sent)
    assert dead_man.rearm_ms == 2_000
