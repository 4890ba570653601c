"""The two venues the contract suite drives: the paper venue, and a real ccxt.binance client
talking to the simulator process. Each gives the market a bar and reports the fills it causes."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from tradeops.config.models import VenueConfig
from tradeops.domain.market import Bar
from tradeops.domain.trading import Fill, OrderRequest, OrderType, Side
from tradeops.exchanges.ccxt_adapter import CcxtExchange
from tradeops.exchanges.ccxt_calls import RetryPolicy
from tradeops.exchanges.ccxt_client import build_ccxt_client
from tradeops.exchanges.paper import PaperExchange

from .sim_process import SimProcess

SYMBOL = "BTC/USDT"
INTERVAL_MS = 300_000
_IDS = itertools.count(1)


def client_id() -> str:
    return f"contract-{next(_IDS)}"


class PaperVenue:
    name = "paper"

    def __init__(self) -> None:
        self.ts = 1_700_000_000_000
        self.price = Decimal("40000.00")
        self.partial_ratio: Decimal | None = None
        cfg = VenueConfig(
            ccxt_id="binance",
            maker_fee=0.001,
            taker_fee=0.001,
            slippage_bps=0.0,
            latency_ms=0,
            max_volume_participation=1.0,
            quantity_step=0.00001,
            min_quantity=0.00001,
            min_notional=5.0,
        )
        self.exchange: Any = PaperExchange({"binance": cfg}, lambda: self.ts, lambda _v, _s: INTERVAL_MS)

    def last(self) -> Decimal:
        return self.price

    def partial_fills(self, ratio: Decimal, quantity: Decimal) -> None:
        self.partial_volume = quantity * ratio  # each bar's volume caps what one order can take
        self.partial_ratio = ratio

    def bar(self, low: Decimal, high: Decimal) -> list[Fill]:
        self.ts += INTERVAL_MS
        volume = float(self.partial_volume) if self.partial_ratio is not None else 1000.0
        bar = Bar(
            "binance", SYMBOL, self.ts, float(self.price), float(high), float(low), float(self.price), volume
        )
        return list(self.exchange.on_market([bar], []))

    def venue_orders(self) -> int | None:
        return None  # the paper venue is this process: nothing to count elsewhere


class SimVenue:
    name = "ccxt+sim"

    def __init__(self, sim: SimProcess, **adapter: Any) -> None:
        self.sim = sim
        self.client = build_ccxt_client(
            "binance",
            VenueConfig(
                ccxt_id="binance",
                url=sim.url,
                api_key_env="SIM_K",
                secret_env="SIM_S",
                request_timeout_ms=1_500,
            ),
            {"SIM_K": sim.api_key, "SIM_S": sim.secret},
            recv_window_ms=1_000,
        )
        adapter.setdefault("policy", RetryPolicy(backoff_s=0.05, max_wait_s=5.0))
        self.exchange: Any = CcxtExchange(self.client, "binance", poll_interval_ms=0, **adapter)
        self.exchange.load_markets()

    def last(self) -> Decimal:
        return Decimal(str(self.client.fetch_ticker(SYMBOL)["last"]))

    def partial_fills(self, ratio: Decimal, quantity: Decimal) -> None:
        del quantity
        self.sim.admin("faults", {"fill_ratio": str(ratio)})

    def bar(self, low: Decimal, high: Decimal) -> list[Fill]:
        last = float(self.last())
        self.sim.admin(
            "bar",
            {
                "symbol": "BTCUSDT",
                "open": last,
                "high": float(high),
                "low": float(low),
                "close": last,
                "volume": 1000,
            },
        )
        return self.exchange.poll()

    def venue_orders(self) -> int | None:
        return int(self.sim.admin("state")["orders"])


def request(
    venue: PaperVenue | SimVenue,
    quantity: str,
    side: Side = Side.BUY,
    limit: Decimal | None = None,
    cid: str | None = None,
) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid or client_id(),
        strategy="daily_trend",
        venue="binance",
        symbol=SYMBOL,
        side=side,
        quantity=Decimal(quantity),
        reference_price=venue.last(),
        ts=0,
        order_type=OrderType.LIMIT if limit is not None else OrderType.MARKET,
        limit_price=limit,
    )
