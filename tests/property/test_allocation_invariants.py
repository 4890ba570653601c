"""Capital policies never hand out more than configured, and a 0.0 allocation always stays 0."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tradeops.allocation.policies import CapitalPolicy, allocate
from tradeops.allocation.sizing import target_quantity

names = st.sampled_from(["daily_trend", "mean_reversion", "volatility_target", "cross_exchange"])
weights = st.dictionaries(names, st.floats(min_value=0.0, max_value=0.25), min_size=1)
policies = st.sampled_from(list(CapitalPolicy))
vols = st.dictionaries(names, st.floats(min_value=0.0, max_value=5.0, allow_nan=False))


@given(policies, weights, st.frozensets(names), vols)
def test_sum_never_exceeds_configured_total(policy, configured, disabled, volatility):
    result = allocate(policy, configured, disabled, volatility)
    assert sum(result.values()) <= sum(configured.values()) + 1e-9
    assert all(v >= 0.0 for v in result.values())
    assert set(result) == set(configured)


@given(policies, weights, st.frozensets(names), vols)
def test_zero_and_disabled_stay_zero(policy, configured, disabled, volatility):
    result = allocate(policy, configured, disabled, volatility)
    for name, weight in configured.items():
        if weight == 0.0 or name in disabled:
            assert result[name] == 0.0


@given(weights)
def test_fixed_policy_is_the_configuration(configured):
    assert allocate(CapitalPolicy.FIXED, configured) == configured


money = st.decimals(min_value=Decimal(0), max_value=Decimal(1_000_000), places=2)


@given(
    st.floats(min_value=-3.0, max_value=3.0, allow_nan=False),
    money,
    st.integers(min_value=1, max_value=10),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100_000), places=2),
    money,
    money,
)
def test_target_quantity_respects_budget_and_position_cap(weight, budget, instruments, price, other, cap):
    qty = target_quantity(
        target_weight=weight,
        budget=budget,
        instruments=instruments,
        price=price,
        other_exposure=other,
        max_position_notional=cap,
        quantity_step=Decimal("0.00001"),
    )
    notional = abs(qty) * price
    assert notional <= cap
    assert other + notional <= max(budget, other)
    assert qty == 0 or (qty > 0) == (weight > 0)
