"""Canonical JSON equals the standard library's sorted, compact, non-ASCII-escaped form."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tradeops.decision_log.canonical import CanonicalJsonError, canonical_bytes


def stdlib(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": [1, 2.5, None, True], "é": "ü", "\u2028": 'x\x00\x1f"\\'},
        {"tiny": 1.234e-05, "nested": {"z": [1e-9, -3e-7, 0.0001, 1e16, 5e-324]}},
        {"none": None, "small": 0.00001},
        {"emoji": "😀", "key with space": ""},
    ],
)
def test_identical_to_the_standard_library(value):
    assert canonical_bytes(value) == stdlib(value)


def test_decimal_written_as_plain_string():
    assert canonical_bytes({"price": Decimal("1.2300E+3")}) == b'{"price":"1230"}'


@pytest.mark.parametrize(
    "value",
    [
        {"x": float("nan")},
        {"x": [float("inf")]},
        {"x": Decimal("NaN")},
        {1: "int key"},
        {"x": object()},
        {"x": 2**70},
    ],
)
def test_values_without_a_canonical_form_are_refused(value):
    with pytest.raises(CanonicalJsonError):
        canonical_bytes(value)
