"""Helpers for state tests: decision records as the log entries the projection folds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradeops.domain import events
from tradeops.domain.events import DecisionRecord
from tradeops.domain.trading import Fill, Liquidity, OrderRequest, Side

VENUE, SYMBOL = "binance", "BTC/USDT"


def as_entry(record: DecisionRecord, step_ms: int | None = None) -> dict[str, Any]:
    """The dict a ProjectingSink writes for `record` (metadata stamped with step_ms and ts_ms)."""
    metadata = {**record.metadata, "step_ms": record.ts if step_ms is None else step_ms, "ts_ms": record.ts}
    return {
        "kind": record.kind,
        "status": record.status,
        "artefacts": dict(record.artefacts),
        "metadata": metadata,
    }


def order(
    cid: str = "daily_trend-1000-1", qty: str = "0.5", side: Side = Side.BUY, ts: int = 1_000
) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid, strategy=cid.split("-")[0], venue=VENUE, symbol=SYMBOL, side=side,
        quantity=Decimal(qty), reference_price=Decimal("100"), ts=ts,
    )  # fmt: skip


def fill_of(
    request: OrderRequest, order_id: str, price: str = "100.25", qty: str | None = None, ts: int | None = None
) -> Fill:
    quantity = Decimal(qty) if qty is not None else request.quantity
    return Fill(
        order_id, request.client_order_id, request.strategy, request.venue, request.symbol, request.side,
        quantity, Decimal(price), quantity * Decimal(price) * Decimal("0.001"), "USDT", Liquidity.TAKER,
        ts if ts is not None else request.ts + 300_000,
    )  # fmt: skip


def account_entries() -> list[dict[str, Any]]:
    """A small account history: opening balance, a buy filled in two parts, a sell, a state change."""
    buy = order()
    sell = order("mean_reversion-2000-2", qty="0.2", side=Side.SELL, ts=2_000)
    return [
        as_entry(events.balances_set(0, {"USDT": "100000"}, "opening balance")),
        as_entry(events.order_accepted(buy)),
        as_entry(events.order_submitted(buy, "paper-binance-1")),
        as_entry(events.order_filled(fill_of(buy, "paper-binance-1", qty="0.3")), step_ms=301_000),
        as_entry(
            events.order_filled(fill_of(buy, "paper-binance-1", price="100.5", qty="0.2")), step_ms=601_000
        ),
        as_entry(events.order_accepted(sell), step_ms=601_000),
        as_entry(events.order_submitted(sell, "paper-binance-2"), step_ms=601_000),
        as_entry(events.order_filled(fill_of(sell, "paper-binance-2", price="101.125")), step_ms=901_000),
        as_entry(events.trading_state_changed(901_000, "global", *_states("active", "reducing"), "drawdown")),
        as_entry(events.checkpoint(901_000, {f"{VENUE} {SYMBOL}": 600_000}, "100010.5")),
    ]


def _states(old: str, new: str) -> tuple[Any, Any]:
    from tradeops.domain.trading import TradingState

    return TradingState(old), TradingState(new)
