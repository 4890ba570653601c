"""Checks one line needs whoever reads it (verifier, writer opening a log): parse without duplicate
keys, canonical bytes, signature object shape and MAC."""

from __future__ import annotations

import binascii
import hmac
import json
from collections.abc import Mapping
from typing import Any

import orjson

from tradeops.decision_log.canonical import CanonicalJsonError, canonical_bytes
from tradeops.decision_log.entry import signed_bytes
from tradeops.decision_log.keys import SIGNATURE_ALGORITHMS, SigningKey


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise _DuplicateKeyError(name)
        result[name] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_problem(line: bytes) -> str:
    """Why a line that is not the canonical form of what orjson parsed is refused (the slow path)."""
    try:
        json.loads(line, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
    except _DuplicateKeyError as exc:
        return f"duplicate key {exc.args[0]!r} (a reader taking the first one would see another entry)"
    except (ValueError, UnicodeDecodeError):
        return "not valid JSON"
    return "not in canonical form (re-serialised or edited: keys, spacing, escapes or numbers differ)"


def parse_line(line: bytes) -> tuple[Any, str | None]:
    """(entry, None) when `line` is exactly the canonical JSON of an object, else (entry|None, why)."""
    try:
        entry = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None, parse_problem(line)
    if not isinstance(entry, dict):
        return entry, "not a JSON object"
    # orjson's output is the canonical form unless a float below 1e-4 is written ("e-" or "0.0000"
    # then appears in the line); only those lines take the slower reference path.
    if (
        orjson.dumps(entry, option=orjson.OPT_SORT_KEYS) == line
        and b"e-" not in line
        and b"0.0000" not in line
    ):
        return entry, None
    try:
        if canonical_bytes(entry) == line:
            return entry, None
    except CanonicalJsonError:
        pass
    return entry, parse_problem(line)


def signature_shape_problem(signature: Any, field: str = "signature") -> str | None:
    if (
        type(signature) is not dict
        or set(signature) != {"algorithm", "key_id", "value"}
        or type(signature["key_id"]) is not str
        or not signature["key_id"]
        or type(signature["value"]) is not str
    ):
        return f"{field} must be {{algorithm: HMAC-SHA256|HMAC-SHA384, key_id, value}}"
    if signature["algorithm"] not in SIGNATURE_ALGORITHMS:
        return f"{field} algorithm {signature['algorithm']!r}: not HMAC-SHA256 or HMAC-SHA384"
    return None


def mac_matches(key: SigningKey, signature: Mapping[str, Any], data: bytes) -> bool:
    """True when `signature["value"]` is `key`'s MAC of `data` (with the signature's algorithm)."""
    try:
        expected = str(signature["value"]).encode("ascii")
    except UnicodeEncodeError:
        return False
    keyed = key.with_algorithm(SIGNATURE_ALGORITHMS[signature["algorithm"]])
    return hmac.compare_digest(binascii.b2a_base64(keyed.mac(data), newline=False), expected)


def entry_mac_ok(entry: Mapping[str, Any], key: SigningKey, field: str = "signature") -> bool:
    """The entry's signature (or rotation endorsement) checks out with `key`."""
    signature = entry["signature"] if field == "signature" else entry["key_rotation"]["endorsement"]
    try:
        return mac_matches(key, signature, signed_bytes(entry))
    except CanonicalJsonError:
        return False
