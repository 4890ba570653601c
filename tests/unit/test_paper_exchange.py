from __future__ import annotations

import itertools
from decimal import Decimal

from tradeops.config.models import VenueConfig
from tradeops.domain.market import Bar
from tradeops.domain.trading import Liquidity, OrderRequest, OrderType, Side
from tradeops.exchanges.paper import PaperExchange

MIN5 = 300_000


class Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def make(latency_ms: int = 50, participation: float = 0.1) -> tuple[PaperExchange, Clock]:
    venue = VenueConfig(
        ccxt_id="binance",
        maker_fee=0.0002,
        taker_fee=0.0004,
        slippage_bps=10,
        latency_ms=latency_ms,
        max_volume_participation=participation,
    )
    clock = Clock()
    return PaperExchange({"binance": venue}, clock, lambda v, s: MIN5), clock


_IDS = itertools.count(1)


def order(qty: str, side: Side = Side.BUY, **kw) -> OrderRequest:
    cid = f"c{next(_IDS)}"
    return OrderRequest(cid, "daily_trend", "binance", "BTC/USDT", side, Decimal(qty), Decimal(100), 0, **kw)


def bar(ts: int, open_: float = 100.0, volume: float = 1000.0, low: float = 95.0, high: float = 105.0) -> Bar:
    return Bar("binance", "BTC/USDT", ts, open_, high, low, open_, volume)


def test_market_order_fills_on_next_bar_with_slippage_and_taker_fee():
    ex, _clock = make()
    ack = ex.submit(order("2"))
    assert ack.fills == () and ex.open_order_ids() == [ack.order_id]
    fills = ex.on_market([bar(0, open_=100.0)])
    assert len(fills) == 1
    fill = fills[0]
    assert fill.price == Decimal("100.1")  # 10 bps worse for a buy
    assert fill.fee == Decimal(2) * Decimal("100.1") * Decimal("0.0004")
    assert fill.liquidity is Liquidity.TAKER
    assert ex.open_order_ids() == []


def test_latency_keeps_order_off_bars_that_closed_before_it_was_eligible():
    ex, _clock = make(latency_ms=MIN5 * 2)
    ex.submit(order("1"))
    assert ex.on_market([bar(0)]) == []  # bar closes at 5m, order eligible at 10m
    assert ex.on_market([bar(MIN5)]) == []  # closes at 10m: still not eligible before close
    assert len(ex.on_market([bar(2 * MIN5)])) == 1


def test_partial_fills_follow_bar_volume_participation():
    ex, _clock = make(participation=0.1)
    ex.submit(order("25"))
    first = ex.on_market([bar(0, volume=100.0)])
    assert first[0].quantity == Decimal(10)
    assert ex.open_quantity("daily_trend", "binance", "BTC/USDT") == Decimal(15)
    second = ex.on_market([bar(MIN5, volume=1000.0)])
    assert second[0].quantity == Decimal(15)
    assert ex.open_order_ids() == []


def test_limit_order_waits_for_price_and_pays_maker_fee():
    ex, _clock = make()
    ex.submit(order("1", order_type=OrderType.LIMIT, limit_price=Decimal(90)))
    assert ex.on_market([bar(0, low=95.0)]) == []
    fill = ex.on_market([bar(MIN5, low=89.0)])[0]
    assert fill.price == Decimal(90) and fill.liquidity is Liquidity.MAKER


def test_cancel_all_by_strategy_and_sell_slippage():
    ex, _clock = make()
    ex.submit(order("1"))
    assert ex.cancel_all("other") == 0
    assert ex.cancel_all("daily_trend") == 1
    ex.submit(order("1", side=Side.SELL))
    assert ex.on_market([bar(0)])[0].price == Decimal("99.9")
