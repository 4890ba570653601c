"""The projection's batch writer renders money without a read-back check: that is sound because the
text of every finite Decimal reads back equal, and anything else is refused as before."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradeops.persistence.batch_sql import BatchStatement, _money_numeric, _money_text
from tradeops.persistence.schema import MoneyRoundTripError

finite = st.decimals(allow_nan=False, allow_infinity=False) | st.builds(
    lambda sign, digits, exp: Decimal((sign, digits, exp)),
    st.integers(0, 1),
    st.lists(st.integers(0, 9), min_size=1, max_size=60).map(tuple),
    st.integers(-400, 400),
)


@given(finite)
def test_money_text_reads_back_equal(value: Decimal) -> None:
    text = _money_text(value)
    assert Decimal(text) == value
    assert "e" not in text.lower() and not text.endswith(".")
    assert _money_numeric(value) == value


@pytest.mark.parametrize(
    "value", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity"), 1.5, "1"]
)
def test_anything_but_a_finite_decimal_is_refused(value: object) -> None:
    with pytest.raises(MoneyRoundTripError):
        _money_text(value)
    assert _money_text(None) is None


class DecimalSub(Decimal):
    """Not exactly a Decimal: the inline path leaves it to `_money_text` (which refuses it)."""


money_values = (
    st.none()
    | finite
    | finite.map(DecimalSub)
    | st.sampled_from([Decimal("NaN"), Decimal("-Infinity"), 1.5, "1"])
)


@given(st.lists(st.tuples(st.integers(), money_values, money_values), max_size=5))
def test_batch_params_convert_money_as_money_text_does(rows: list[tuple[int, object, object]]) -> None:
    statement = BatchStatement("", ("id", "a", "b"), frozenset({"a", "b"}), _money_text)
    dicts = [{"id": i, "a": a, "b": b} for i, a, b in rows]

    def reference() -> object:
        return [(i, _money_text(a), _money_text(b)) for i, a, b in rows]

    try:
        expected = reference()
    except MoneyRoundTripError:
        with pytest.raises(MoneyRoundTripError):
            statement.params(dicts)
        return
    assert statement.params(dicts) == expected
