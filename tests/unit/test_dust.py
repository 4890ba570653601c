"""Dust: what a fee taken in the base asset (Binance spot buyers pay in the coin) or the rest of a
quantity step leaves behind. No venue takes an order for it, so it is neither an order to send nor
a holding the strategy acts on; a two-legged exit is not held back by a dust leg."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from decimal import Decimal

from hypothesis import assume, example, given
from hypothesis import strategies as st

from tests.unit.test_engine import build, step
from tradeops.allocation.planning import (
    LegBook,
    LegLimits,
    clearly_not_dust,
    holding_weight,
    is_dust,
    plan_order,
)
from tradeops.domain.events import DenialReason
from tradeops.domain.trading import Fill, InstrumentLimits, Liquidity, OrderRequest, Side, Signal, SignalLeg
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
    minimums = {
        "step": LIMITS.quantity_step,
        "min_quantity": LIMITS.min_quantity,
        "min_notional": LIMITS.min_notional,
    }
    assert not is_dust(D(0), D(42000), **minimums) and is_dust(D("0.0002"), D(42000), **minimums)


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


class CoarseVenue:
    """The paper venue, but stating a coarser step than the config's (0.001 BTC, as a live venue's
    load_markets may): the engine must size and recognise dust by what the venue states."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self.asked: list[tuple[str, str]] = []

    def instrument_limits(self, venue: str, symbol: str) -> InstrumentLimits | None:
        self.asked.append((venue, symbol))
        return InstrumentLimits(step=D("0.001"), tick=D("0.01"), min_quantity=D("0.001"), min_notional=D(5))

    def __getattr__(self, name: str):
        return getattr(self._inner, name)


def test_dust_is_recognised_by_the_venues_step_not_the_configs():
    venues: list[CoarseVenue] = []

    def coarse(paper) -> CoarseVenue:
        venues.append(CoarseVenue(paper))
        return venues[-1]

    engine, market, clock, _sink, _ = build(wrap=coarse)
    venue = venues[0]
    assert engine.settings.venues["binance"].quantity_step == 0.00001  # the config says otherwise
    assert venue.asked == [("binance", "BTC/USDT")]  # asked once, at start
    watching = Watching()
    engine.slots["daily_trend"] = dataclasses.replace(engine.slots["daily_trend"], strategy=watching)
    step(engine, market, clock, 0)
    _book(engine, "0.0005", clock["now"])  # 15 USDT: tradeable by the config, under the venue's step
    outcome = engine.run_cycle("daily_trend", clock["now"])
    assert watching.seen[-1] == {}
    assert outcome.orders == 0 and outcome.denied == 0
    _book(engine, "0.0102", clock["now"])  # 0.0107 held: a holding, closed as usual
    outcome = engine.run_cycle("daily_trend", clock["now"])
    assert ("binance", "BTC/USDT") in watching.seen[-1]
    assert outcome.orders == 1 and outcome.denied == 0
    assert venue.asked == [("binance", "BTC/USDT")]  # never asked again


def test_the_gate_denies_below_the_venues_minimum_with_its_reason_code():
    engine, market, clock, sink, _ = build(wrap=CoarseVenue)
    step(engine, market, clock, 0)
    order = OrderRequest("x", "daily_trend", "binance", "BTC/USDT", Side.BUY, D("0.0005"), D(30_000), 0)
    routed = engine.egress.submit_group([order])  # 15 USDT: enough for the config, not the venue
    assert routed[0].denial is not None and routed[0].denial.reason is DenialReason.MIN_QUANTITY
    denied = sink.of_kind("risk_decision", "denied")
    assert [r.metadata["reason"] for r in denied] == [DenialReason.MIN_QUANTITY.value]
    assert sink.of_kind("order") == []
    assert engine.exchange.open_order_ids() == []  # it never left


_decimals = st.one_of(
    st.decimals(min_value=D("1e-12"), max_value=D("1e12"), allow_nan=False, allow_infinity=False, places=12),
    st.builds(
        lambda digits, exponent: D(f"{digits}e{exponent}"),
        st.integers(min_value=1, max_value=10**30),
        st.integers(min_value=-400, max_value=400),
    ),
    st.sampled_from([D(0), D("1e-400"), D("1e400"), D("0.00001"), D(10), D(5)]),
)


@given(
    quantity=_decimals,
    short=st.booleans(),
    price=_decimals,
    step=_decimals,
    min_quantity=_decimals,
    min_notional=_decimals,
    nudge=st.sampled_from([None, "size", "notional"]),
    by=st.sampled_from(["-1e-5", "-1e-7", "-1e-16", "1e-16", "1e-7", "0.00000099", "0.00000101", "1e-5"]),
)
@example(  # dust by 1.3e-16 of the minimum notional, yet the float product is above it
    D("0.00118656476448469266"), False, D("8427.69"), D("0.00001"), D("0.00001"), D(10), None, "0"
)
def test_the_float_pre_check_decides_only_what_is_dust_says(
    quantity: Decimal,
    short: bool,
    price: Decimal,
    step: Decimal,
    min_quantity: Decimal,
    min_notional: Decimal,
    nudge: str | None,
    by: str,
) -> None:
    """Wherever `clearly_not_dust` decides, `is_dust` says the same (also right around the
    thresholds, where the floats' rounding could mislead a plain float comparison)."""
    if nudge == "size":
        quantity = max(step, min_quantity) * (1 + D(by))
    elif nudge == "notional" and price:
        quantity = min_notional / price * (1 + D(by))
    if short:
        quantity = -quantity
    exact = is_dust(quantity, price, step=step, min_quantity=min_quantity, min_notional=min_notional)
    if clearly_not_dust(
        abs(float(quantity)), float(price), float(max(step, min_quantity)), float(min_notional)
    ):
        assert not exact


@given(
    quantity=st.decimals(min_value=D("0.001"), max_value=D(1000), places=8),
    price=st.floats(min_value=0.01, max_value=1e6),
)
def test_the_pre_check_takes_positions_far_above_the_minimums(quantity: Decimal, price: float) -> None:
    """The float it is given for a mark is the mark itself (its exact Decimal is `repr` of it)."""
    assume(quantity * D(repr(price)) > 20)
    assert clearly_not_dust(float(quantity), price, 0.00001, 10.0)
    assert not is_dust(
        quantity, D(repr(price)), step=D("0.00001"), min_quantity=D("0.00001"), min_notional=D(10)
    )


def test_a_holding_carries_the_floats_of_its_position_and_planning_holding_weight():
    engine, market, clock, _sink, _ = build()
    watching = Watching()
    engine.slots["daily_trend"] = dataclasses.replace(engine.slots["daily_trend"], strategy=watching)
    step(engine, market, clock, 0)
    for quantity, close in (("0.0123", 30_123.45), ("0.0041", 29_876.5), ("0.02", 31_000.25)):
        _book(engine, quantity, clock["now"])
        step(engine, market, clock, clock["now"], close)  # a new mark, after the fill
        engine.run_cycle("daily_trend", clock["now"])
        pos = engine.portfolio.position("daily_trend", "binance", "BTC/USDT")
        price = engine.portfolio.price("binance", "BTC/USDT")
        budget = engine._budget("daily_trend")
        shown = watching.seen[-1]["binance", "BTC/USDT"]
        assert shown.weight == holding_weight(pos.quantity, price, budget, 1)
        assert (shown.quantity, shown.avg_price) == (float(pos.quantity), float(pos.avg_price))
