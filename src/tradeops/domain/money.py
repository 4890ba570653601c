"""Money is Decimal. Floats never represent a balance, fee or PnL."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

ZERO = Decimal(0)
ONE = Decimal(1)


def to_decimal(value: float | int | str | Decimal) -> Decimal:
    """Convert without binary float artefacts (0.1 stays 0.1)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def quantize_down(value: Decimal, step: Decimal) -> Decimal:
    """Round a quantity down to a multiple of `step` (never up: never buy more than allowed)."""
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def decimal_str(value: Decimal) -> str:
    """Render a Decimal for logs and JSON: plain notation, no exponent, no trailing zeros."""
    text = format(value, "f")  # exact: normalize() would round to the context's 28 digits
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
