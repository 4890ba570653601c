"""Canonical JSON: sorted keys, separators (",", ":"), UTF-8 (not ASCII-escaped), finite numbers only.

The reference form is the standard library's
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``. orjson produces the
same bytes except for NaN and infinity (written as ``null``; we refuse them) and floats with
0 < |x| < 1e-4 (written as ``0.0000…`` or ``2.5e-9`` where Python writes ``2.5e-09``). A walk over
the value (about 1 µs for an entry; cheaper than scanning the output) refuses the former and sends
values holding the latter through the standard library. Decimals become plain decimal strings.
"""

from __future__ import annotations

import json
import math
import sys
from decimal import Decimal
from typing import Any

import orjson

from tradeops.domain.money import decimal_str

_SMALLEST_PLAIN_FLOAT = 1e-4
_MAX_FLOAT = sys.float_info.max


class CanonicalJsonError(ValueError):
    """The value cannot be written as canonical JSON (NaN, infinity, non-str key, unknown type)."""


def _decimal_default(value: object) -> str:
    if isinstance(value, Decimal) and value.is_finite():
        return decimal_str(value)
    raise TypeError(f"{type(value).__name__} {value!r} is not JSON serialisable")


def _scalar_needs_stdlib(value: object) -> bool:
    """Validate one non-container value; True when orjson would format it differently."""
    if isinstance(value, float):
        return _float_needs_stdlib(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CanonicalJsonError(f"non-finite decimal {value!r}")
        return False
    if isinstance(value, str | int) or value is None:
        return False
    raise CanonicalJsonError(f"{type(value).__name__} value {value!r} is not JSON")


PLAIN_TYPES = frozenset({str, int, bool, type(None)})  # values the walk passes without a look


def needs_stdlib(value: object) -> bool:
    """Walk `value`: raise CanonicalJsonError on anything non-canonical, say if orjson differs."""
    kind = type(value)
    if kind is dict:
        # The common object holds only strings, integers, booleans and nulls: one pass in C over
        # the value types. Its keys are left to orjson, which refuses non-string keys itself (only
        # values needing the standard library, which would stringify them, need the key check).
        if PLAIN_TYPES.issuperset(map(type, value.values())):  # type: ignore[attr-defined]
            return False
    elif kind is str or kind is int or kind is bool or value is None:
        return False
    return _walk(value)


def _walk(value: object) -> bool:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return False
    if kind is float:
        return _float_needs_stdlib(value)  # type: ignore[arg-type]
    if kind is dict or (kind is not list and kind is not tuple and isinstance(value, dict)):
        slow = False
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str:
                raise CanonicalJsonError(f"object key {key!r} is not a string")
            item_kind = type(item)
            if item_kind is str or item_kind is int or item_kind is bool or item is None:
                continue
            if item_kind is float:  # inline: a signal's metadata holds several
                if not -_MAX_FLOAT <= item <= _MAX_FLOAT:  # NaN fails both comparisons
                    _float_needs_stdlib(item)  # raises
                if -_SMALLEST_PLAIN_FLOAT < item < _SMALLEST_PLAIN_FLOAT and item != 0.0:
                    slow = True
                continue
            slow = _walk(item) or slow
        return slow
    if kind is list or kind is tuple or isinstance(value, list):
        slow = False
        for item in value:  # type: ignore[attr-defined]
            slow = _walk(item) or slow
        return slow
    return _scalar_needs_stdlib(value)


def _float_needs_stdlib(value: float) -> bool:
    if not math.isfinite(value):
        raise CanonicalJsonError(f"non-finite number {value!r}: write amounts as decimal strings")
    return 0.0 < abs(value) < _SMALLEST_PLAIN_FLOAT


def stdlib_canonical_bytes(value: Any) -> bytes:
    """The reference canonical form (slow; used for tiny floats and by tests as the oracle)."""
    try:
        text = json.dumps(
            value,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=_decimal_default,
        )
    except (TypeError, ValueError) as exc:
        raise CanonicalJsonError(str(exc)) from exc
    return text.encode("utf-8")


def checked_stdlib_bytes(value: Any) -> bytes:
    """The reference form after the full walk (which refuses non-string keys the standard library
    would silently turn into strings): for values `needs_stdlib` sent there."""
    _walk(value)
    return stdlib_canonical_bytes(value)


ORJSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
ORJSON_DEFAULT = _decimal_default
# What orjson.dumps(value, default=ORJSON_DEFAULT, option=ORJSON_OPTIONS) raises for a value without
# a canonical form (callers that skip canonical_bytes map these to CanonicalJsonError).
ORJSON_ERRORS = (TypeError, orjson.JSONEncodeError)


def canonical_bytes(value: Any, *, checked: bool = False) -> bytes:
    """Canonical JSON bytes of `value`. `checked=True`: the caller already walked it (needs_stdlib False)."""
    if not checked and needs_stdlib(value):
        return stdlib_canonical_bytes(value)
    try:
        return orjson.dumps(value, default=_decimal_default, option=ORJSON_OPTIONS)
    except ORJSON_ERRORS as exc:
        raise CanonicalJsonError(str(exc)) from exc
