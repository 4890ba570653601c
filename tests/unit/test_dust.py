"""Dust: what a fee taken in the base asset (Binance spot buyers pay in the coin) or the rest of a
quantity step leaves behind. No venue takes an order for it, so it is neither an order to send nor
a holding the strategy acts on; a two-legged exit is not held back by a dust leg."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from decimal import Decimal

from tests.unit.test_engine import build, step
from tradeops.allocation.planning import LegBook, LegLimits, is_dust, plan_order
from tradeops.domain.trading import Fill, Liquidity, Side, Signal, SignalLeg
from tradeops.strategies.base import Holding

D = Decimal
LIMITS = LegLimits(
    budget=D(30_000),
    instruments=1,
    max_position_notional=D(30_000),
    quantity_step=D("0.00001"),
    min_notional=D(10),
    min_quantity=D("0.00001"),
)


def _close(held: str, price: str = "42000") -> object:
    book = LegBook(price=D(price), held_quantity=D(held), working_quantity=D(0), other_exposure=D(0))
    return plan_order(0.0, book, LIMITS)


def test_closing_dust_plans_no_order_and_a_real_close_still_goes():
    assert _close("0.00000211") is None  # under one step: the rest of a rounded-down sell
    assert _close("-0.0000369") is None  # 1.55 USDT, under the 10 USDT minimum notional
    planned = _close("-0.00034935")  # the fee a buy-to-cover paid in BTC: still tradeable
    assert planned is not None and planned.side is Side.BUY and planned.quantity == D("0.00034935")
    assert planned.reduce_only
    assert not is_dust(D(0), D(42000), LIMITS) and is_dust(D("0.0002"), D(42000), LIMITS)


def test_an_entry_is_planned_on_top_of_dust():
    book = LegBook(price=D(42000), held_quantity=D("0.00000211"), working_quantity=D(0), other_exposure=D(0))
    planned = plan_order(0.5, book, LIMITS)
    assert planned is not None and planned.side is Side.BUY and not planned.reduce_only


class Watching:
    """Wants to be flat; remembers the holdings it was shown."""

    name = "daily_trend"

    def __init__(self) -> None:
        self.seen: list[dict[tuple[str, str], Holding]] = []

    def required_bars(self) -> int:
        return 1

    def decide(
        self, view, venues: Sequence[str], symbols: Sequence[str], holdings: Mapping[tuple[str, str], Holding]
    ) -> list[Signal]:
        self.seen.append(dict(holdings))
        return [Signal(self.name, view.now_ms, (SignalLeg("binance", "BTC/USDT", 0.0),), 1.0, "flat")]


def _book(engine, quantity: str, ts: int) -> None:
    engine.book_fills(
        [
            Fill(
                order_id="o1",
                client_order_id="c1",
                strategy="daily_trend",
                venue="binance",
                symbol="BTC/USDT",
                side=Side.BUY,
                quantity=D(quantity),
                price=D(30_000),
                fee=D(0),
                fee_asset="USDT",
                liquidity=Liquidity.TAKER,
                ts=ts,
                trade_id=f"t-{quantity}",
            )
        ]
    )


def test_a_dust_position_is_not_shown_as_a_holding_and_sends_nothing():
    engine, market, clock, _sink, _ = build()
    watching = Watching()
    engine.slots["daily_trend"] = dataclasses.replace(engine.slots["daily_trend"], strategy=watching)
    step(engine, market, clock, 0)
    _book(engine, "0.000002", clock["now"])  # 0.06 USDT of BTC: dust
    outcome = engine.run_cycle("daily_trend", clock["now"])
    assert watching.seen[-1] == {}
    assert outcome.orders == 0 and outcome.denied == 0
    _book(engine, "0.01", clock["now"])  # 300 USDT more: a holding, closed as usual
    outcome = engine.run_cycle("daily_trend", clock["now"])
    assert ("binance", "BTC/USDT") in watching.seen[-1]
    assert outcome.orders == 1 and outcome.denied == 0
