"""Whatever the gate approves keeps exposure within allocation, position cap and leverage."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tradeops.domain.trading import OrderRequest, Side, TradingState
from tradeops.risk.gate import Exposure, Limits, check_order, is_reducing

dec = st.decimals(min_value=Decimal(0), max_value=Decimal(200_000), places=2)
qty = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(50), places=3)
price = st.decimals(min_value=Decimal(1), max_value=Decimal(60_000), places=2)
frac = st.floats(min_value=0.0, max_value=1.0)


@st.composite
def scenarios(draw):
    limits = Limits(
        allocation=draw(frac),
        max_position_pct=draw(frac),
        max_open_positions=draw(st.integers(0, 10)),
        max_daily_loss_pct=draw(frac),
        hard_drawdown_pct=draw(st.floats(min_value=0.01, max_value=1.0)),
        max_leverage=draw(st.floats(min_value=0.0, max_value=5.0)),
        min_quantity=Decimal("0.001"),
        min_notional=Decimal(10),
    )
    equity = draw(st.decimals(min_value=Decimal(1), max_value=Decimal(200_000), places=2))
    position = draw(st.decimals(min_value=Decimal(-20), max_value=Decimal(20), places=3))
    p = draw(price)
    strategy_exposure = abs(position) * p + draw(dec)
    exposure = Exposure(
        equity=equity,
        peak_equity=equity + draw(dec),
        gross_exposure=strategy_exposure + draw(dec),
        strategy_exposure=strategy_exposure,
        position_quantity=position,
        open_positions=draw(st.integers(0, 12)),
        strategy_day_pnl=draw(st.decimals(min_value=Decimal(-5000), max_value=Decimal(5000), places=2)),
    )
    order = OrderRequest(
        "c1", "daily_trend", "binance", "BTC/USDT", draw(st.sampled_from(list(Side))), draw(qty), p, 0
    )
    return order, limits, exposure


@given(scenarios())
def test_approved_growth_stays_within_limits(scenario):
    order, limits, exposure = scenario
    if check_order(order, limits, exposure) is not None or is_reducing(order, exposure.position_quantity):
        return
    new_qty = exposure.position_quantity + order.quantity * order.side.sign
    old_notional = abs(exposure.position_quantity) * order.reference_price
    new_notional = abs(new_qty) * order.reference_price
    equity = exposure.equity
    assert (
        exposure.strategy_exposure - old_notional + new_notional <= Decimal(repr(limits.allocation)) * equity
    )
    assert new_notional <= Decimal(repr(limits.max_position_pct)) * equity
    assert (
        exposure.gross_exposure - old_notional + new_notional <= Decimal(repr(limits.max_leverage)) * equity
    )


@given(scenarios())
def test_zero_allocation_never_grows_a_position(scenario):
    order, limits, exposure = scenario
    zero = replace(limits, allocation=0.0)
    if not is_reducing(order, exposure.position_quantity):
        assert check_order(order, zero, exposure) is not None


@given(scenarios())
def test_halted_denies_everything_and_reducing_only_allows_reductions(scenario):
    order, limits, exposure = scenario
    assert check_order(order, limits, exposure, global_state=TradingState.HALTED) is not None
    assert check_order(order, limits, exposure, strategy_state=TradingState.HALTED) is not None
    denial = check_order(order, limits, exposure, strategy_state=TradingState.REDUCING)
    if not is_reducing(order, exposure.position_quantity):
        assert denial is not None
