"""The ccxt adapter against an offline stand-in with ccxt's method names, and vendor error mapping."""

from __future__ import annotations

from decimal import Decimal

import ccxt
import pytest

from tradeops.domain.errors import Fatal, Skipped, Temporary, UserInputError
from tradeops.domain.trading import OrderRequest, Side
from tradeops.exchanges.ccxt_adapter import CcxtExchange, fetch_candles
from tradeops.exchanges.errors import translate_vendor_errors
from tradeops.exchanges.faults import FaultSpec, FaultyExchange


class OfflineVenue:
    """Stands in for a ccxt exchange object: same method names and response shapes."""

    id = "offline"

    def __init__(self, rows: list[list[float]] | None = None, fill_ratio: float = 1.0) -> None:
        self.rows = rows or []
        self.fill_ratio = fill_ratio
        self.cancelled: list[str] = []
        self.created = 0

    def fetch_ohlcv(self, symbol, timeframe, since=None, limit=None):
        return [r for r in self.rows if r[0] >= since][:limit]

    def create_order(self, symbol, type_, side, amount, price=None, params=None):
        self.created += 1
        return {
            "id": f"o{self.created}",
            "filled": amount * self.fill_ratio,
            "average": 101.0,
            "fee": {"cost": 0.05, "currency": "USDT"},
            "takerOrMaker": "taker",
            "timestamp": 5,
        }

    def cancel_order(self, order_id, symbol):
        self.cancelled.append(order_id)


def order(qty: str = "1") -> OrderRequest:
    return OrderRequest("c1", "daily_trend", "offline", "BTC/USDT", Side.BUY, Decimal(qty), Decimal(100), 0)


def test_fetch_candles_pages_until_exhausted():
    rows = [[i * 60_000, 1, 2, 0.5, 1.5, 10] for i in range(25)]
    out = fetch_candles(OfflineVenue(rows), "BTC/USDT", "1m", 0, limit=10)
    assert out.shape == (25, 6)
    assert list(out[:, 0]) == [r[0] for r in rows]


def test_ccxt_exchange_partial_fill_tracks_open_quantity_and_cancels():
    venue = OfflineVenue(fill_ratio=0.25)
    ex = CcxtExchange(venue, "offline")
    ack = ex.submit(order("4"))
    assert ack.fills[0].quantity == Decimal(1) and ack.fills[0].price == Decimal(101)
    assert ack.open_quantity == Decimal(3)
    assert ex.open_quantity("daily_trend", "offline", "BTC/USDT") == Decimal(4)
    assert ex.cancel_all("daily_trend") == 1 and venue.cancelled == ["o1"]


@pytest.mark.parametrize(
    ("vendor", "family"),
    [
        (ccxt.NetworkError, Temporary),
        (ccxt.RateLimitExceeded, Temporary),
        (ccxt.InsufficientFunds, Skipped),
        (ccxt.InvalidOrder, Skipped),
        (ccxt.AuthenticationError, Fatal),
    ],
)
def test_vendor_errors_map_to_families(vendor, family):
    with pytest.raises(family) as info, translate_vendor_errors("offline"):
        raise vendor("boom")
    assert isinstance(info.value.__cause__, vendor)


def test_fault_spec_parsing_and_injection():
    spec = FaultSpec.parse("errors=1,drop_fills=1")
    assert spec.error_rate == 1.0 and spec.drop_fills
    with pytest.raises(UserInputError):
        FaultSpec.parse("errors=2")
    with pytest.raises(UserInputError):
        FaultSpec.parse("bogus=1")
    faulty = FaultyExchange(CcxtExchange(OfflineVenue(), "offline"), spec)
    with pytest.raises(Temporary):
        faulty.submit(order())
