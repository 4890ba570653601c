"""Pure parts of the exchange simulator and the live adapter: weights and bans, signatures,
fault settings, precision rules, the shared matching core."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradeops.domain.events import DenialReason
from tradeops.domain.trading import Liquidity, OrderRequest, OrderType, Side
from tradeops.exchanges.errors import PrecisionDenied, retry_after_seconds
from tradeops.exchanges.paper.matching import BarView, MatchModel, match_order
from tradeops.exchanges.precision import MarketRules
from tradeops.exchanges.sim.auth import authenticate
from tradeops.exchanges.sim.book import Account
from tradeops.exchanges.sim.errors import SimError
from tradeops.exchanges.sim.faults import Faults
from tradeops.exchanges.sim.limits import WeightLimiter

NOW = 1_796_000_000_000


def test_weight_limit_answers_429_with_retry_after_then_bans_with_418():
    limiter = WeightLimiter(limit=10, ban_after=2, first_ban_ms=120_000)
    assert limiter.charge("ip", 10, NOW) == 10
    for _ in range(2):
        with pytest.raises(SimError) as refused:
            limiter.charge("ip", 1, NOW + 1_000)
        assert refused.value.status == 429 and refused.value.code == -1003
        assert int(refused.value.headers["Retry-After"]) > 0
    with pytest.raises(SimError) as banned:
        limiter.charge("ip", 1, NOW + 2_000)
    assert banned.value.status == 418 and banned.value.headers["Retry-After"] == "120"
    with pytest.raises(SimError) as still:  # the ban outlasts the weight window
        limiter.charge("ip", 1, NOW + 70_000)
    assert still.value.status == 418
    assert limiter.charge("other", 1, NOW) == 1  # weights are per IP
    assert limiter.charge("ip", 1, NOW + 125_000) == 1


def _signed(secret: str, query: str) -> str:
    return f"{query}&signature={hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()}"


def test_signature_covers_query_and_body():
    account = Account("key-0123456789abcdef", "secret-0123456789abcdef")
    accounts = {account.api_key: account}
    body = _signed(account.secret, f"symbol=BTCUSDT&timestamp={NOW}")
    params = {"symbol": "BTCUSDT", "timestamp": str(NOW)}
    assert authenticate(accounts, account.api_key, "", body, params, NOW) is account
    tampered = body.replace("BTCUSDT", "ETHUSDT", 1)
    with pytest.raises(SimError) as bad:
        authenticate(accounts, account.api_key, "", tampered, params, NOW)
    assert bad.value.code == -1022


@pytest.mark.parametrize(
    ("timestamp", "window", "code"),
    [(NOW + 1_500, "5000", -1021), (NOW - 6_000, "5000", -1021), (NOW, "70000", -1131)],
)
def test_timestamp_must_sit_in_the_recv_window(timestamp, window, code):
    account = Account("key-0123456789abcdef", "secret-0123456789abcdef")
    query = _signed(account.secret, f"recvWindow={window}&timestamp={timestamp}")
    params = {"recvWindow": window, "timestamp": str(timestamp)}
    with pytest.raises(SimError) as refused:
        authenticate({account.api_key: account}, account.api_key, query, "", params, NOW)
    assert refused.value.code == code


def test_fault_updates_are_checked_and_all_or_nothing():
    faults = Faults()
    faults.update({"storm_429": 3, "fill_ratio": 0.5, "stale": True})
    assert (faults.storm_429, faults.fill_ratio, faults.stale) == (3, "0.5", True)
    for bad in ({"storm_429": -1}, {"stale": "yes"}, {"fill_ratio": 2}, {"bogus": 1}):
        with pytest.raises(ValueError, match=r"must be|unknown fault"):
            faults.update({"latency_ms": 100, **bad})
    assert faults.latency_ms == 0
    assert [faults.take("storm_429") for _ in range(4)] == [True, True, True, False]


def test_retry_after_header_is_read_case_insensitively():
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    assert retry_after_seconds({"Retry-After": "x"}) is None
    assert retry_after_seconds(None) is None


RULES = MarketRules("BTC/USDT", Decimal("0.00001"), Decimal("0.01"), Decimal("0.00001"), Decimal(5))


def _order(qty: str, side: Side = Side.BUY, limit: str | None = None) -> OrderRequest:
    kind = OrderType.LIMIT if limit else OrderType.MARKET
    return OrderRequest(
        "c",
        "s",
        "binance",
        "BTC/USDT",
        side,
        Decimal(qty),
        Decimal(40_000),
        0,
        kind,
        Decimal(limit) if limit else None,
    )


def test_precision_rounds_toward_the_safe_side_and_denies_with_reason_codes():
    assert RULES.prepare(_order("0.0123456", limit="40000.019")) == (Decimal("0.01234"), Decimal("40000.01"))
    assert RULES.prepare(_order("0.01", Side.SELL, "40000.011"))[1] == Decimal("40000.02")
    cases = [
        ("0.000009", None, DenialReason.MIN_QUANTITY),
        ("0.0001", None, DenialReason.MIN_NOTIONAL),
        ("1", Decimal(1000), DenialReason.MAX_ORDER_NOTIONAL),
    ]
    for qty, cap, reason in cases:
        with pytest.raises(PrecisionDenied) as denied:
            RULES.prepare(_order(qty), cap)
        assert denied.value.reason is reason


MODEL = MatchModel(Decimal("0.001"), Decimal("0.002"), Decimal("0.0005"), Decimal("0.1"), Decimal("0.001"))
prices = st.decimals(min_value=1, max_value=100_000, places=2)


@given(
    side=st.sampled_from(list(Side)),
    limit=prices,
    low=prices,
    spread=prices,
    remaining=st.decimals(min_value="0.001", max_value=100, places=3),
    volume=st.decimals(min_value=0, max_value=10_000, places=3),
    arrival=st.booleans(),
)
def test_matching_never_overfills_and_never_trades_through_a_limit(
    side, limit, low, spread, remaining, volume, arrival
):
    high = low + spread
    bar = BarView(open=(low + high) / 2, high=high, low=low, volume=volume)
    found = match_order(side, OrderType.LIMIT, limit, remaining, bar, MODEL, on_arrival=arrival)
    if found is None:
        return
    assert 0 < found.quantity <= remaining and found.quantity <= volume * MODEL.participation
    assert found.quantity % MODEL.quantity_step == 0
    assert found.price <= limit if side is Side.BUY else found.price >= limit
    assert (found.liquidity is Liquidity.TAKER) == (found.fee_rate == MODEL.taker_fee)
    if not arrival:
        assert found.liquidity is Liquidity.MAKER and found.price == limit
