"""What only a live venue can do wrong, proven with a real ccxt.binance client against the
simulator process: balances and fee assets, tick rounding, venue-side duplicate refusal, an order
accepted but never answered, 429 storms, 5xx, and the simulator's own signature and weight checks."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from decimal import ROUND_CEILING, Decimal

import pytest

from tradeops.bootstrap.live_start import balance_deltas
from tradeops.domain.trading import Side
from tradeops.exchanges.ccxt_calls import RetryPolicy
from tradeops.exchanges.errors import ExchangeTemporary, OrderRejected
from tradeops.runtime.venue_reconcile import ACCOUNT, DiffKind, reconcile

from .sim_process import SimProcess
from .venues import SYMBOL, SimVenue, request


class RecordingSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(seconds)


def _below(price: Decimal, share: str) -> Decimal:
    return (price * (1 - Decimal(share))).quantize(Decimal("0.01"))


def test_balances_follow_fills_with_fees_in_the_fee_asset(sim):
    venue = SimVenue(sim)
    before = venue.exchange.balances()
    buy = venue.exchange.submit(request(venue, "0.01"))
    (fill,) = buy.fills
    after = venue.exchange.balances()
    assert fill.fee_asset == "BTC" and fill.fee == Decimal("0.00001")  # the buyer pays in base
    assert after["BTC"] - before["BTC"] == Decimal("0.01") - fill.fee
    assert before["USDT"] - after["USDT"] == fill.quantity * fill.price
    (sold,) = venue.exchange.submit(request(venue, "0.01", side=Side.SELL)).fills
    assert sold.fee_asset == "USDT" and sold.fee == sold.quantity * sold.price * Decimal("0.001")


def _rounds_down_most(price: Decimal) -> str:
    """A sell quantity whose commission (0.1% of the quote) loses nearly half a unit of its 8th
    decimal when rounded: what a venue that books unrounded commissions drifts by."""

    def lost(steps: int) -> Decimal:
        return (Decimal(steps) * Decimal("0.00001") * price * Decimal("0.001")) % Decimal("0.00000001")

    steps = max(range(500, 2_000), key=lambda n: lost(n) if lost(n) < Decimal("0.000000005") else Decimal(0))
    return str(Decimal(steps) * Decimal("0.00001"))


def test_expected_balances_from_the_fills_equal_the_venue_exactly(sim):
    """Regression: after buys and sells the reconcile baseline plus the booked fills must be the
    venue's balance to the last digit. The simulator used to move balances by unrounded
    commissions while reporting them with 8 decimals, so a live account's reconcile found
    `balance_mismatch binance:USDT` (2e-8) after a few sells."""
    venue = SimVenue(sim)
    opening = venue.exchange.balances()
    fills = []
    for _ in range(6):
        fills.extend(venue.exchange.submit(request(venue, "0.05")).fills)
        fills.extend(
            venue.exchange.submit(request(venue, _rounds_down_most(venue.last()), side=Side.SELL)).fills
        )
    assert {f.fee_asset for f in fills} == {"BTC", "USDT"}
    deltas = balance_deltas(fills, "USDT")
    expected = {("binance", a): opening[a] + deltas.get(("binance", a), Decimal(0)) for a in ("BTC", "USDT")}
    after = venue.exchange.balances()
    venue_side = {("binance", a): after[a] for a in ("BTC", "USDT")}
    assert venue_side == expected
    assert reconcile([], [], expected, venue_side, tolerance={"USDT": Decimal("1e-8")}).clean


def test_limit_prices_are_rounded_to_the_tick_never_worse(sim):
    venue = SimVenue(sim)
    last = venue.last()
    buy = venue.exchange.submit(request(venue, "0.01", limit=_below(last, "0.01") + Decimal("0.009")))
    sell = venue.exchange.submit(
        request(venue, "0.01", side=Side.SELL, limit=last * Decimal("1.01") + Decimal("0.001"))
    )
    prices = {o["id"]: Decimal(str(o["price"])) for o in venue.client.fetch_open_orders(SYMBOL)}
    assert prices[buy.order_id] == _below(last, "0.01")  # rounded down
    wanted = last * Decimal("1.01") + Decimal("0.001")
    assert prices[sell.order_id] == wanted.quantize(Decimal("0.01"), rounding=ROUND_CEILING)  # up


def test_spot_orders_never_carry_reduce_only(sim):
    venue = SimVenue(sim)
    order = request(venue, "0.01", side=Side.SELL)
    reducing = dataclasses.replace(order, reduce_only=True)
    sent: list[dict] = []
    create = venue.client.create_order
    venue.client.create_order = lambda *a: sent.append(a[-1]) or create(*a)
    venue.exchange.submit(reducing)
    assert sent == [{"clientOrderId": order.client_order_id}]


def test_the_venue_refuses_a_client_order_id_in_use_even_from_a_fresh_adapter(sim):
    first = SimVenue(sim)
    order = request(first, "0.01", limit=_below(first.last(), "0.01"))
    first.exchange.submit(order)
    restarted = SimVenue(sim)  # a new process: no memory of the ids it sent before
    with pytest.raises(OrderRejected, match="Duplicate order sent"):
        restarted.exchange.submit(order)
    assert sim.admin("state")["orders"] == 1


def test_timeout_after_accept_is_resolved_by_client_order_id_to_one_venue_order(sim):
    venue = SimVenue(sim)
    order = request(venue, "0.01")
    sim.admin("faults", {"hang_after_accept": 1, "hang_seconds": 5})
    ack = venue.exchange.submit(order)  # the client times out after 1.5 s, then asks by client id
    state = sim.admin("state")
    assert state["client_order_ids"] == [order.client_order_id] and state["orders"] == 1
    assert [f.quantity for f in ack.fills] == [Decimal("0.01")]
    assert venue.exchange.poll() == []  # the fill is not booked a second time


def test_a_429_storm_is_waited_out_honouring_retry_after_without_duplicates(sim):
    sleep = RecordingSleep()
    venue = SimVenue(sim, sleep=sleep)
    order = request(venue, "0.01")
    sim.admin("faults", {"storm_429": 3, "retry_after_s": 1})
    ack = venue.exchange.submit(order)
    assert len(sleep.waits) == 3 and all(w >= 1.0 for w in sleep.waits)
    assert sim.admin("state")["client_order_ids"] == [order.client_order_id]
    assert sum(f.quantity for f in ack.fills) == Decimal("0.01")


def test_a_storm_longer_than_the_retry_budget_fails_without_sending(sim):
    venue = SimVenue(sim, sleep=RecordingSleep())
    order = request(venue, "0.01")
    sim.admin("faults", {"storm_429": 10, "retry_after_s": 1})
    with pytest.raises(ExchangeTemporary, match="after 4 attempts"):
        venue.exchange.submit(order)
    assert sim.admin("state")["orders"] == 0


def test_a_5xx_is_checked_by_client_order_id_before_the_one_resend(sim):
    venue = SimVenue(sim, sleep=RecordingSleep())
    order = request(venue, "0.01")
    sim.admin("faults", {"errors_5xx": 1})
    ack = venue.exchange.submit(order)
    assert sim.admin("state")["client_order_ids"] == [order.client_order_id]
    assert ack.fills and ack.fills[0].client_order_id == order.client_order_id


def test_responses_carry_the_used_weight(sim):
    venue = SimVenue(sim)
    venue.exchange.balances()
    headers = {k.lower(): v for k, v in venue.client.last_response_headers.items()}
    assert int(headers["x-mbx-used-weight-1m"]) >= 20


def _raw(sim, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(f"{sim.url}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize(
    ("query", "key", "status", "code"),
    [
        ("timestamp={now}&signature=00", "good", 400, -1022),
        ("timestamp={now}&signature=00", "unknown", 401, -2015),
        ("timestamp=1000&signature={sig}", "good", 400, -1021),
        ("recvWindow=70000&timestamp={now}&signature={sig}", "good", 400, -1131),
    ],
)
def test_signed_requests_are_checked(sim, query, key, status, code):
    now = str(int(time.time() * 1000))
    unsigned = query.split("&signature=")[0].replace("{now}", now)
    sig = hmac.new(sim.secret.encode(), unsigned.encode(), hashlib.sha256).hexdigest()
    path = "/api/v3/account?" + query.replace("{now}", now).replace("{sig}", sig)
    api_key = sim.api_key if key == "good" else "nobody"
    got_status, body = _raw(sim, path, {"X-MBX-APIKEY": api_key})
    assert (got_status, body["code"]) == (status, code)


def test_keys_command_prints_the_funded_account_on_one_line(sim):
    out = subprocess.run(
        [sys.executable, "-m", "tradeops.cli.main", "exchange-sim", "keys", "--port", str(sim.port)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (out.returncode, out.stdout) == (0, f"{sim.api_key} {sim.secret}\n")


def test_stale_market_data_freezes_quotes_and_candles(sim):
    venue = SimVenue(sim)
    before = venue.client.fetch_ohlcv(SYMBOL, "5m", limit=2)
    sim.admin("faults", {"stale": True})
    assert sim.admin("advance", {"bars": 3})["advanced"] == 0
    assert venue.client.fetch_ohlcv(SYMBOL, "5m", limit=2) == before
    sim.admin("faults", {"stale": False})
    assert sim.admin("advance", {"bars": 1})["advanced"] == 1
    assert venue.client.fetch_ohlcv(SYMBOL, "5m", limit=2)[-1][0] > before[-1][0]


def test_bad_fault_settings_are_refused_and_change_nothing(sim):
    with pytest.raises(urllib.error.HTTPError) as refused:
        sim.admin("faults", {"storm_429": 2, "fill_ratio": 7})
    assert refused.value.code == 400
    assert sim.admin("faults")["storm_429"] == 0


def test_sigterm_stops_the_simulator_cleanly():
    own = SimProcess()
    own.stop()
    assert own.proc.returncode == 0
    assert any("exchange-sim: stopped" in line for line in own.output)


def test_latency_beyond_the_client_timeout_fails_as_temporary_after_the_retries(sim):
    sleep = RecordingSleep()
    venue = SimVenue(sim, sleep=sleep, policy=RetryPolicy(max_retries=1, backoff_s=0.05))
    sim.admin("faults", {"latency_ms": 2_000})  # the client gives up after 1.5 s
    with pytest.raises(ExchangeTemporary, match="RequestTimeout after 2 attempts"):
        venue.exchange.balances()
    assert len(sleep.waits) == 1


def test_reconcile_inputs_show_an_order_placed_elsewhere(sim):
    ours, elsewhere = SimVenue(sim), SimVenue(sim)
    limit = _below(ours.last(), "0.01")
    mine = ours.exchange.submit(request(ours, "0.01", limit=limit))
    stranger = request(elsewhere, "0.02", limit=limit)
    elsewhere.exchange.submit(stranger)
    venue_orders = ours.exchange.venue_open_orders([SYMBOL])
    report = reconcile(ours.exchange.local_open_orders(), venue_orders, {}, {})
    assert [(d.kind, d.key, d.scope) for d in report.diffs] == [
        (DiffKind.UNKNOWN_VENUE_ORDER, stranger.client_order_id, ACCOUNT)
    ]
    assert {o.venue_order_id for o in venue_orders} >= {mine.order_id}


def test_a_fill_before_a_cancel_is_still_booked_once(sim):
    venue = SimVenue(sim)
    last = venue.last()
    limit = _below(last, "0.01")
    sim.admin("faults", {"fill_ratio": "0.25"})
    ack = venue.exchange.submit(request(venue, "0.01", limit=limit))
    sim.admin(
        "bar",
        {
            "symbol": "BTCUSDT",
            "open": float(last),
            "high": float(last),
            "low": float(limit - 1),
            "close": float(last),
            "volume": 1000,
        },
    )
    assert venue.exchange.cancel(ack.order_id) is True  # the adapter has not polled yet
    fills = venue.exchange.poll()
    assert [(f.order_id, f.quantity) for f in fills] == [(ack.order_id, Decimal("0.0025"))]
    assert venue.exchange.poll() == [] and venue.exchange.open_order_ids() == []


def test_a_poll_costs_two_requests_per_symbol_however_many_orders_rest(sim):
    venue = SimVenue(sim)
    last = venue.last()
    acks = [
        venue.exchange.submit(request(venue, "0.001", limit=_below(last, f"0.0{i + 1}"))) for i in range(8)
    ]
    before = sim.admin("state")["requests"]
    assert venue.exchange.poll() == []
    assert sim.admin("state")["requests"] - before == 2
    fills = venue.bar(_below(last, "0.035"), last)  # trades through the three highest limits
    assert sorted(f.order_id for f in fills) == sorted(a.order_id for a in acks[:3])
