"""One log line: the entry's fields, its canonical bytes, its signature and its place in the chain.

A line is the canonical JSON of the entry followed by ``\\n``. ``prev_hash`` is ``<alg>:<hex>`` of the
previous line's exact bytes (without the newline); the first entry (the genesis entry, kind
``log_genesis``) carries the all-zero value. Every entry carries the log's ``log_id``.

The MAC covers every byte of the entry except the signature value itself: the signed bytes are the
canonical JSON of the entry whose ``signature`` object lacks its ``value`` member (so key id and
algorithm are signed). A key rotation entry also carries ``key_rotation.endorsement``, the old
key's MAC over the same bytes (both values left out).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from tradeops.decision_log.canonical import (
    ORJSON_DEFAULT,
    ORJSON_ERRORS,
    ORJSON_OPTIONS,
    PLAIN_TYPES,
    CanonicalJsonError,
    canonical_bytes,
    checked_stdlib_bytes,
    needs_stdlib,
)
from tradeops.decision_log.keys import HASH_ALGORITHMS, HashAlgorithm, SigningKey
from tradeops.domain.errors import UserInputError

FORMAT_VERSION = 2
GENESIS_KIND = "log_genesis"
ROTATION_KIND = "key_rotation"
REQUIRED_FIELDS: dict[str, type | tuple[type, ...]] = {
    "kind": str,
    "log_id": str,
    "timestamp": str,
    "stage": str,
    "status": str,
    "artefacts": dict,
    "metadata": dict,
    "tags": list,
    "seq": int,
    "prev_hash": str,
}
RESERVED_FIELDS = frozenset({*REQUIRED_FIELDS, "signature", "key_rotation"})
HASHERS: dict[str, Callable[[bytes], Any]] = {"sha256": hashlib.sha256, "sha384": hashlib.sha384}
_HEX_LENGTH = {"sha256": 64, "sha384": 96}
_dumps = orjson.dumps


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
    for name in ("stage", "status", "kind", "log_id"):
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
    log_id: str,
    key: SigningKey | None,
    extra: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], bytes]:
    """Return the entry and its line (canonical JSON, signature included, no newline).

    Without extra fields the entry is serialised once with its signature object lacking the value
    (exactly the signed bytes) and the value is spliced in (`SigningKey.sign_entry`). With extra
    fields, or values needing the standard library, the members sorting before "signature" and
    those after it are serialised as two halves, MACed joined by the signature without its value
    and written joined by the complete one (`_encode_halves`).
    """
    if not (type(kind) is str and type(stage) is str and type(status) is str and kind and stage and status):
        _check_names(kind, stage, status)
    tag_list = list(tags)
    if tag_list and not _STR_ONLY.issuperset(map(type, tag_list)):
        raise UserInputError(f"decision-log tags must be strings, got {tag_list!r}")
    if type(artefacts) is not dict:
        artefacts = dict(artefacts)
    if type(metadata) is not dict:
        metadata = dict(metadata)
    # The walk refuses values without a canonical form and says which need the stdlib encoder; the
    # common object (strings, integers, booleans, nulls) is checked here in one pass over its values.
    if PLAIN_TYPES.issuperset(map(type, artefacts.values())) and PLAIN_TYPES.issuperset(
        map(type, metadata.values())
    ):
        slow = False
    else:
        try:
            slow = needs_stdlib(artefacts) | needs_stdlib(metadata)
        except CanonicalJsonError as exc:
            raise UserInputError(f"decision-log entry: {exc}") from None
    if extra or slow or key is None:
        return _encode_halves(
            kind, stage, status, timestamp, artefacts, metadata, tag_list, seq, prev_hash, log_id, key, extra,
            slow,
        )  # fmt: skip
    entry: dict[str, Any] = {
        "artefacts": artefacts,
        "kind": kind,
        "log_id": log_id,
        "metadata": metadata,
        "prev_hash": prev_hash,
        "seq": seq,
        "signature": key.unsigned,
        "stage": stage,
        "status": status,
        "tags": tag_list,
        "timestamp": timestamp,
    }
    try:
        signed = _dumps(entry, default=ORJSON_DEFAULT, option=ORJSON_OPTIONS)
    except ORJSON_ERRORS as error:  # not `exc`: mypyc keeps the type of a name's first binding
        raise UserInputError(f"decision-log entry: {error}") from None
    entry["signature"], line = key.sign_entry_object(signed)
    return entry, line


_STR_ONLY = frozenset({str})


def _check_names(kind: object, stage: object, status: object) -> None:
    """Refuse a kind, stage or status that is not a non-empty string (str subclasses pass)."""
    if not (isinstance(kind, str) and isinstance(stage, str) and isinstance(status, str)) or not (
        kind and stage and status
    ):
        got = f"{kind!r}, {stage!r}, {status!r}"
        raise UserInputError(f"decision-log kind, stage and status must be non-empty strings, got {got}")


def _encode_halves(
    kind: str,
    stage: str,
    status: str,
    timestamp: str,
    artefacts: dict[str, Any],
    metadata: dict[str, Any],
    tag_list: list[str],
    seq: int,
    prev_hash: str,
    log_id: str,
    key: SigningKey | None,
    extra: Mapping[str, Any] | None,
    slow: bool,
) -> tuple[dict[str, Any], bytes]:
    low: dict[str, Any] = {
        "artefacts": artefacts,
        "kind": kind,
        "log_id": log_id,
        "metadata": metadata,
        "prev_hash": prev_hash,
        "seq": seq,
    }
    high: dict[str, Any] = {"stage": stage, "status": status, "tags": tag_list, "timestamp": timestamp}
    try:
        if extra:
            for name, value in extra.items():
                if type(name) is not str or name in RESERVED_FIELDS:
                    raise UserInputError(f"decision-log extra field {name!r} is reserved or not a string")
                (low if name < "signature" else high)[name] = value
                slow = needs_stdlib(value) or slow
        if slow:  # rare (a float below 1e-4): the reference encoder for both halves
            low_bytes, high_bytes = checked_stdlib_bytes(low), checked_stdlib_bytes(high)
        else:
            low_bytes = _dumps(low, default=ORJSON_DEFAULT, option=ORJSON_OPTIONS)
            high_bytes = _dumps(high, default=ORJSON_DEFAULT, option=ORJSON_OPTIONS)
    except (CanonicalJsonError, *ORJSON_ERRORS) as exc:
        raise UserInputError(f"decision-log entry: {exc}") from None
    low_part, high_part = memoryview(low_bytes)[:-1], memoryview(high_bytes)[1:]
    if key is None:
        low.update(high)
        return low, b"".join((low_part, b",", high_part))
    value, line = key.sign_halves(low_part, high_part)
    low["signature"] = key.signature(value)
    low.update(high)
    return low, line


def _without_value(signature: Any) -> Any:
    if isinstance(signature, dict):
        return {name: item for name, item in signature.items() if name != "value"}
    return signature


def signed_bytes(entry: Mapping[str, Any]) -> bytes:
    """The bytes every MAC of `entry` covers: its canonical JSON without the signature values.

    Raises CanonicalJsonError when the entry has no canonical form.
    """
    unsigned = dict(entry)
    if "signature" in unsigned:
        unsigned["signature"] = _without_value(unsigned["signature"])
    rotation = unsigned.get("key_rotation")
    if isinstance(rotation, dict) and "endorsement" in rotation:
        unsigned["key_rotation"] = {**rotation, "endorsement": _without_value(rotation["endorsement"])}
    return canonical_bytes(unsigned)


def sign_document(
    document: Mapping[str, Any], key: SigningKey | None, endorser: SigningKey | None = None
) -> tuple[dict[str, Any], bytes]:
    """Sign a whole document (genesis, rotation, anchor) on the general path; return it and its line.

    With `endorser`, `document["key_rotation"]` gains the endorser's MAC over the same bytes.
    """
    signed = dict(document)
    if endorser is not None:
        rotation = dict(signed["key_rotation"])
        rotation["endorsement"] = {"algorithm": endorser.signature_algorithm, "key_id": endorser.key_id}
        signed["key_rotation"] = rotation
    if key is not None:
        signed["signature"] = {"algorithm": key.signature_algorithm, "key_id": key.key_id}
    try:
        data = signed_bytes(signed)
        if endorser is not None:
            signed["key_rotation"]["endorsement"] = endorser.signature(endorser.signature_value(data))
        if key is not None:
            signed["signature"] = key.signature(key.signature_value(data))
        return signed, canonical_bytes(signed)
    except CanonicalJsonError as exc:
        raise UserInputError(f"decision-log entry: {exc}") from None


def genesis_line(
    environment: str, log_id: str, created: str, prev_hash: str, key: SigningKey | None
) -> bytes:
    """Seq 1 of a new log: names the log id, environment, creation time and signing key id."""
    _, line = encode_entry(
        kind=GENESIS_KIND,
        stage=environment,
        status="created",
        timestamp=created,
        artefacts={
            "environment": environment,
            "format": FORMAT_VERSION,
            "key_id": key.key_id if key else None,
            "created": created,
        },
        metadata={},
        tags=("decision_log",),
        seq=1,
        prev_hash=prev_hash,
        log_id=log_id,
        key=key,
    )
    return line


def rotation_document(
    old_key_id: str,
    new_key_id: str,
    log_id: str,
    seq: int,
    prev_hash: str,
    stage: str,
    reason: str,
    moment: datetime,
) -> dict[str, Any]:
    """The key_rotation entry before signing (see sign_document with an endorser)."""
    return {
        "artefacts": {"from_key_id": old_key_id, "to_key_id": new_key_id},
        "key_rotation": {"from_key_id": old_key_id, "to_key_id": new_key_id},
        "kind": ROTATION_KIND,
        "log_id": log_id,
        "metadata": {"reason": reason},
        "prev_hash": prev_hash,
        "seq": seq,
        "stage": stage,
        "status": "rotated",
        "tags": ["decision_log", "key_rotation"],
        "timestamp": utc_timestamp(moment),
    }
