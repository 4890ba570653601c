"""One log line: the entry's fields, its canonical bytes, its signature and its place in the chain.

A line is the canonical JSON of the entry followed by ``\\n``. ``prev_hash`` is ``<alg>:<hex>`` of the
previous line's exact bytes (without the newline); the first entry carries the all-zero genesis
value. The signature is computed over the canonical entry without ``signature``; because keys are
sorted, the signed bytes are the line with the ``,"signature":{...}`` member cut out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tradeops.decision_log.canonical import (
    CanonicalJsonError,
    canonical_bytes,
    needs_stdlib,
    stdlib_canonical_bytes,
)
from tradeops.decision_log.keys import HASH_ALGORITHMS, HashAlgorithm, SigningKey
from tradeops.domain.errors import UserInputError

REQUIRED_FIELDS: dict[str, type | tuple[type, ...]] = {
    "kind": str,
    "timestamp": str,
    "stage": str,
    "status": str,
    "artefacts": dict,
    "metadata": dict,
    "tags": list,
    "seq": int,
    "prev_hash": str,
}
RESERVED_FIELDS = frozenset({*REQUIRED_FIELDS, "signature"})
HASHERS: dict[str, Callable[[bytes], Any]] = {"sha256": hashlib.sha256, "sha384": hashlib.sha384}
_HEX_LENGTH = {"sha256": 64, "sha384": 96}


def genesis_hash(algorithm: HashAlgorithm) -> str:
    """`prev_hash` of the first entry of a log."""
    return f"{algorithm}:{'0' * _HEX_LENGTH[algorithm]}"


def line_hash(line: bytes, algorithm: str) -> str:
    """`<alg>:<hex>` of one line's bytes (without its newline)."""
    return f"{algorithm}:{HASHERS[algorithm](line).hexdigest()}"


def parse_hash(value: str) -> tuple[HashAlgorithm, str] | None:
    """Split `<alg>:<hex>`; None when malformed."""
    alg, sep, digest = value.partition(":")
    if not sep or alg not in HASH_ALGORITHMS or len(digest) != _HEX_LENGTH[alg]:
        return None
    try:
        int(digest, 16)
    except ValueError:
        return None
    return alg, digest


def utc_timestamp(value: datetime | str) -> str:
    """ISO 8601 in UTC with `+00:00` (microseconds when non-zero). Naive datetimes are refused."""
    if type(value) is datetime and value.tzinfo is UTC:
        return value.isoformat()
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise UserInputError(
                f"timestamp {value!r}: use ISO 8601, e.g. 2026-11-21T21:03:20.908285+00:00"
            ) from None
    if value.tzinfo is None:
        raise UserInputError(f"timestamp {value.isoformat()!r} has no time zone: add +00:00 (UTC)")
    return value.astimezone(UTC).isoformat()


def schema_problem(entry: Any) -> str | None:
    """First missing or mistyped required field, or None."""
    if not isinstance(entry, dict):
        return "entry is not a JSON object"
    for name, kind in REQUIRED_FIELDS.items():
        value = entry.get(name)
        if value is None:
            return f"missing field {name!r}"
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return f"field {name!r} must be {'an object' if kind is dict else kind.__name__}"  # type: ignore[union-attr]
    for name in ("stage", "status", "kind"):
        if not entry[name]:
            return f"field {name!r} is empty"
    return None


def encode_entry(
    *,
    kind: str,
    stage: str,
    status: str,
    timestamp: str,
    artefacts: Mapping[str, Any],
    metadata: Mapping[str, Any],
    tags: Sequence[str],
    seq: int,
    prev_hash: str,
    key: SigningKey | None,
    extra: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], bytes]:
    """Return the entry and its line (canonical JSON, signature included, no newline)."""
    if not (isinstance(kind, str) and isinstance(stage, str) and isinstance(status, str)) or not (
        kind and stage and status
    ):
        got = f"{kind!r}, {stage!r}, {status!r}"
        raise UserInputError(f"decision-log kind, stage and status must be non-empty strings, got {got}")
    tag_list = list(tags)
    if tag_list and not all(type(tag) is str for tag in tag_list):
        raise UserInputError(f"decision-log tags must be strings, got {tag_list!r}")
    if type(artefacts) is not dict:
        artefacts = dict(artefacts)
    if type(metadata) is not dict:
        metadata = dict(metadata)
    try:
        # The walk refuses values without a canonical form and says which need the stdlib encoder.
        low_slow, high_slow = needs_stdlib(artefacts) | needs_stdlib(metadata), False
        extra_items = list((extra or {}).items())
        for name, value in extra_items:
            if type(name) is not str or name in RESERVED_FIELDS:
                raise UserInputError(f"decision-log extra field {name!r} is reserved or not a string")
            if needs_stdlib(value):
                low_slow, high_slow = low_slow or name < "signature", high_slow or name > "signature"
    except CanonicalJsonError as exc:
        raise UserInputError(f"decision-log entry: {exc}") from None
    # The members sorting before "signature" and after it are serialised separately so that the
    # signature can be spliced in without serialising the entry twice.
    low: dict[str, Any] = {
        "artefacts": artefacts,
        "kind": kind,
        "metadata": metadata,
        "prev_hash": prev_hash,
        "seq": seq,
    }
    high: dict[str, Any] = {"stage": stage, "status": status, "tags": tag_list, "timestamp": timestamp}
    for name, value in extra_items:
        (low if name < "signature" else high)[name] = value
    try:
        low_bytes = stdlib_canonical_bytes(low) if low_slow else canonical_bytes(low, checked=True)
        high_bytes = stdlib_canonical_bytes(high) if high_slow else canonical_bytes(high, checked=True)
    except CanonicalJsonError as exc:
        raise UserInputError(f"decision-log entry: {exc}") from None
    unsigned = low_bytes[:-1] + b"," + high_bytes[1:]
    if key is None:
        low.update(high)
        return low, unsigned
    signature, signature_bytes = key.sign_with_bytes(unsigned)
    line = b"".join((low_bytes[:-1], b',"signature":', signature_bytes, b",", high_bytes[1:]))
    low["signature"] = signature
    low.update(high)
    return low, line
