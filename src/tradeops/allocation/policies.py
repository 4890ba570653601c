"""Capital policies. Every policy keeps a strategy at 0 when its configured allocation is 0 (or it is
disabled), and never hands out more than the profile's configured total."""

from __future__ import annotations

import math
from collections.abc import Mapping, Set
from enum import StrEnum

MIN_VOLATILITY = 1e-9


class CapitalPolicy(StrEnum):
    FIXED = "fixed"  # exactly risk_profiles.<p>.strategy_allocations
    EQUAL = "equal"  # the configured total split evenly among eligible strategies
    RISK_PARITY = "risk_parity"  # the configured total split by inverse volatility


def allocate(
    policy: CapitalPolicy,
    configured: Mapping[str, float],
    disabled: Set[str] = frozenset(),
    volatility: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Return each strategy's fraction of account equity.

    `configured` maps strategy -> configured allocation. A strategy with a configured 0.0 or in
    `disabled` gets 0.0 under every policy; the sum never exceeds the configured sum.
    """
    eligible = {s: w for s, w in configured.items() if w > 0.0 and s not in disabled}
    result = dict.fromkeys(configured, 0.0)
    if not eligible:
        return result
    if policy is CapitalPolicy.FIXED:
        result.update(eligible)
        return result
    total = sum(eligible.values())
    if policy is CapitalPolicy.EQUAL:
        share = total / len(eligible)
        result.update(dict.fromkeys(eligible, share))
        return result
    vols = volatility or {}
    # Volatility below MIN_VOLATILITY (or a denormal) would make 1/v overflow; treat it as unknown.
    inverse = {s: 1.0 / v for s in eligible if (v := vols.get(s, 0.0)) >= MIN_VOLATILITY and math.isfinite(v)}
    if not inverse:  # no volatility estimates yet: fall back to equal split
        return allocate(CapitalPolicy.EQUAL, configured, disabled)
    mean_inverse = sum(inverse.values()) / len(inverse)
    for s in eligible:
        inverse.setdefault(s, mean_inverse)
    norm = sum(inverse.values())
    result.update({s: total * inverse[s] / norm for s in eligible})
    return result
