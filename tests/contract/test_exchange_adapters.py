"""Candle paging against an offline stand-in with ccxt's method names, vendor error mapping, faults.

Order egress through ccxt is covered by test_venue_contract.py and test_ccxt_simulator.py against
the simulator process with a real ccxt client."""

from __future__ import annotations

from decimal import Decimal

import ccxt
import pytest

from tradeops.config.models import VenueConfig
from tradeops.domain.errors import Fatal, Skipped, Temporary, UserInputError
from tradeops.domain.trading import OrderRequest, Side
from tradeops.exchanges.ccxt_market import fetch_candles
from tradeops.exchanges.errors import translate_vendor_errors
from tradeops.exchanges.faults import FaultSpec, FaultyExchange
from tradeops.exchanges.paper import PaperExchange


class OfflineVenue:
    """Stands in for a ccxt exchange object's candle endpoint: same method name and row shape."""

    id = "offline"

    def __init__(self, rows: list[list[float]]) -> None:
        self.rows = rows

    def fetch_ohlcv(self, symbol, timeframe, since=None, limit=None):
        return [r for r in self.rows if r[0] >= since][:limit]


def order(qty: str = "1") -> OrderRequest:
    return OrderRequest("c1", "daily_trend", "offline", "BTC/USDT", Side.BUY, Decimal(qty), Decimal(100), 0)


def test_fetch_candles_pages_until_exhausted():
    rows = [[i * 60_000, 1, 2, 0.5, 1.5, 10] for i in range(25)]
    out = fetch_candles(OfflineVenue(rows), "BTC/USDT", "1m", 0, limit=10)
    assert out.shape == (25, 6)
    assert list(out[:, 0]) == [r[0] for r in rows]


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
    paper = PaperExchange({"offline": VenueConfig(ccxt_id="binance")}, lambda: 0, lambda _v, _s: 60_000)
    faulty = FaultyExchange(paper, spec)
    with pytest.raises(Temporary):
        faulty.submit(order())
    assert paper.open_order_ids() == []
