"""Verify logs: schema, seq, hash chain, signatures; the first bad line is reported with its reason.

Each line first goes through a fast path that accepts only fully valid signed entries: the signed
bytes are the stored line with its `,"signature":{...}` member cut out (the writer stores canonical
JSON), so nothing is re-serialised. Anything else goes to the diagnosis, which applies the same
rules one by one and names the first broken one.
"""

from __future__ import annotations

import binascii
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from tradeops.decision_log.canonical import CanonicalJsonError, canonical_bytes
from tradeops.decision_log.entry import HASHERS, genesis_hash, line_hash, parse_hash, schema_problem
from tradeops.decision_log.keys import (
    ANY_KEY_ID,
    HASH_ALGORITHMS,
    SIGNATURE_ALGORITHMS,
    HashAlgorithm,
    SigningKey,
)
from tradeops.domain.errors import UserInputError

_SIGNATURE_MEMBER = b',"signature":'


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Outcome for one or more logs. On failure `first_error_line` (1-based) and `reason` say where/why."""

    ok: bool
    entries: int
    head: str
    first_error_line: int | None = None
    reason: str | None = None
    path: str | None = None
    unsigned: int = 0  # accepted unsigned entries (--allow-unsigned)
    unchecked: int = 0  # signed entries whose key id has no key (not --strict)
    expect_head_line: int | None = None  # line whose hash equals --expect-head


def _mac_matches(key: SigningKey, expected: str, *chunks: bytes | memoryview) -> bool:
    try:
        expected_bytes = expected.encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(binascii.b2a_base64(key.mac(*chunks), newline=False), expected_bytes)


def _utc_problem(value: str) -> str | None:
    try:
        offset = datetime.fromisoformat(value).utcoffset()
    except ValueError:
        return f"timestamp {value!r} is not ISO 8601"
    if offset is None or offset.total_seconds() != 0:
        return f"timestamp {value!r} is not UTC"
    return None


def _chain_problem(prev_hash: str, number: int, prev_line: bytes | None) -> str | None:
    parsed = parse_hash(prev_hash)
    if parsed is None:
        return f"prev_hash {prev_hash!r} is not <sha256|sha384>:<hex>"
    if prev_line is None:
        if prev_hash != genesis_hash(parsed[0]):
            return "prev_hash of the first entry is not the genesis value: earlier lines were removed"
    elif prev_hash != line_hash(prev_line, parsed[0]):
        return (
            f"prev_hash does not match line {number - 1}: line {number - 1} was edited, "
            "or this line was inserted or moved"
        )
    return None


class _Checker:
    def __init__(self, keyring: Mapping[str, SigningKey], strict: bool, allow_unsigned: bool) -> None:
        self.keyring = dict(keyring)
        self.strict = strict
        self.allow_unsigned = allow_unsigned and not strict
        self.unsigned = 0
        self.unchecked = 0
        # (key_id, "HMAC-SHA…") -> key with that hash; filled on first use of each pair.
        self.keys: dict[tuple[str, str], SigningKey] = {}

    def fast_ok(self, entry: Any, line: bytes, number: int, prev_line: bytes | None) -> bool:
        """True only for a schema-valid, chained, correctly signed entry with a known key."""
        try:
            signature, prev_hash, timestamp = entry["signature"], entry["prev_hash"], entry["timestamp"]
            key = self.keys[signature["key_id"], signature["algorithm"]]
            expected = signature["value"]
        except (KeyError, TypeError):
            return False
        if not (
            type(entry.get("seq")) is int
            and entry["seq"] == number
            and type(entry.get("kind")) is str
            and type(entry.get("stage")) is str
            and type(entry.get("status")) is str
            and entry["kind"]
            and entry["stage"]
            and entry["status"]
            and type(entry.get("artefacts")) is dict
            and type(entry.get("metadata")) is dict
            and type(entry.get("tags")) is list
            and type(timestamp) is str
            and type(prev_hash) is str
            and type(expected) is str
            and timestamp.endswith("+00:00")
            and prev_hash[:6] in HASH_ALGORITHMS
            and prev_hash[6:7] == ":"
        ):
            return False
        alg = prev_hash[:6]
        if prev_line is None:
            if prev_hash != genesis_hash(alg):  # type: ignore[arg-type]
                return False
        elif prev_hash[7:] != HASHERS[alg](prev_line).hexdigest():
            return False
        try:
            datetime.fromisoformat(timestamp)
        except ValueError:
            return False
        member = _SIGNATURE_MEMBER + orjson.dumps(signature, option=orjson.OPT_SORT_KEYS)
        cut = line.rfind(member)  # the member sits near the end: stage, status, tags, timestamp follow
        if cut <= 0:
            return False
        view = memoryview(line)
        return _mac_matches(key, expected, view[:cut], view[cut + len(member) :])

    def diagnose(self, entry: Any, line: bytes, number: int, prev_line: bytes | None) -> str | None:
        """The first broken rule, or None when the entry is acceptable after all (counted)."""
        problem = schema_problem(entry)
        if problem is not None:
            return "schema: " + problem
        seq = entry["seq"]
        if seq != number:
            cause = (
                "an entry before this line was deleted, or lines were reordered"
                if seq > number
                else "this line was inserted, duplicated or moved"
            )
            return f"seq {seq}, expected {number}: {cause}"
        problem = _chain_problem(entry["prev_hash"], number, prev_line) or _utc_problem(entry["timestamp"])
        return problem or self._signature_problem(entry, line)

    def _key(self, key_id: str, algorithm: str) -> SigningKey | None:
        cached = self.keys.get((key_id, algorithm))
        if cached is None:
            base = self.keyring.get(key_id, self.keyring.get(ANY_KEY_ID))
            if base is None:
                return None
            cached = self.keys[key_id, algorithm] = base.with_algorithm(SIGNATURE_ALGORITHMS[algorithm])
        return cached

    def _signature_problem(self, entry: dict[str, Any], line: bytes) -> str | None:
        signature = entry.get("signature")
        if signature is None:
            if self.allow_unsigned:
                self.unsigned += 1
                return None
            return "entry is unsigned " + (
                "(--strict)" if self.strict else "(pass --allow-unsigned to accept)"
            )
        if (
            type(signature) is not dict
            or type(signature.get("key_id")) is not str
            or type(signature.get("value")) is not str
            or signature.get("algorithm") not in SIGNATURE_ALGORITHMS
        ):
            return "signature must be {algorithm: HMAC-SHA256|HMAC-SHA384, key_id, value}"
        key = self._key(signature["key_id"], signature["algorithm"])
        if key is None:
            if self.strict:
                return f"unknown key id {signature['key_id']!r} (--strict: add it to the --keyring)"
            self.unchecked += 1
            return None
        member = _SIGNATURE_MEMBER + orjson.dumps(signature, option=orjson.OPT_SORT_KEYS)
        cut = line.find(member)
        if cut > 0 and _mac_matches(key, signature["value"], line[:cut], line[cut + len(member) :]):
            return None
        # Not in the stored form this writer produces: check the canonical form of the parsed entry.
        unsigned = {name: value for name, value in entry.items() if name != "signature"}
        try:
            if _mac_matches(key, signature["value"], canonical_bytes(unsigned)):
                return None
        except CanonicalJsonError:
            pass
        return (
            f"signature mismatch ({signature['algorithm']}, key id {signature['key_id']!r}): "
            "the entry was edited or signed with another key"
        )


def _open(path: Path) -> Any:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise UserInputError(f"decision log {path}: file not found") from None
    except IsADirectoryError:
        raise UserInputError(f"decision log {path}: is a directory, not a log file") from None
    except OSError as exc:
        raise UserInputError(f"decision log {path}: cannot read ({exc.strerror})") from None


def _expected_head(expect_head: str | None) -> tuple[HashAlgorithm, str] | None:
    if expect_head is None:
        return None
    parsed = parse_hash(expect_head.strip())
    if parsed is None:
        raise UserInputError(f"--expect-head {expect_head!r}: use <sha256|sha384>:<hex> as printed by verify")
    return parsed[0], f"{parsed[0]}:{parsed[1].lower()}"


def verify_file(
    path: str | Path,
    *,
    keyring: Mapping[str, SigningKey],
    strict: bool = False,
    expect_head: str | None = None,
    allow_unsigned: bool = False,
) -> VerifyResult:
    """Verify one log. An unreadable file raises UserInputError; a bad log returns ok=False."""
    path = Path(path)
    expected = _expected_head(expect_head)
    checker = _Checker(keyring, strict, allow_unsigned)
    found: int | None = None
    if expected is not None and expected[1] == genesis_hash(expected[0]):
        found = 0
    number, prev_line, last_alg = 0, None, "sha256"
    repair = f"run `tradeops decision-log repair {path}`"

    def fail(line: int, reason: str) -> VerifyResult:
        return VerifyResult(False, number, "", line, reason, str(path), checker.unsigned, checker.unchecked)

    with _open(path) as handle:
        for raw in handle:
            number += 1
            if raw[-1:] != b"\n":
                return fail(number, f"torn last line: no trailing newline; {repair}")
            line = raw[:-1]
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                more = handle.read(1)
                return fail(number, "not valid JSON" if more else f"torn last line: not valid JSON; {repair}")
            if not checker.fast_ok(entry, line, number, prev_line):
                reason = checker.diagnose(entry, line, number, prev_line)
                if reason is not None:
                    return fail(number, reason)
            if expected is not None and found is None and line_hash(line, expected[0]) == expected[1]:
                found = number
            prev_line, last_alg = line, entry["prev_hash"][:6]
    head = line_hash(prev_line, last_alg) if prev_line is not None else genesis_hash("sha256")
    if expected is not None and found is None:
        reason = (
            f"expected head {expected[1]} is not the hash of any line: the log was truncated "
            f"(it ends at line {number}, head {head}) or rewritten"
        )
        return VerifyResult(
            False, number, head, number + 1, reason, str(path), checker.unsigned, checker.unchecked
        )
    return VerifyResult(True, number, head, None, None, str(path), checker.unsigned, checker.unchecked, found)


def verify_log(
    paths: str | Path | Iterable[str | Path],
    *,
    keyring: Mapping[str, SigningKey],
    strict: bool = False,
    expect_head: str | None = None,
    allow_unsigned: bool = False,
) -> VerifyResult:
    """Verify each log in turn (each is its own chain) and stop at the first failure.

    `expect_head` applies to the last path. On success `entries` is the total and `head` the last log's.
    """
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    if not items:
        raise UserInputError("no decision log given: pass at least one PATH")
    total = unsigned = unchecked = 0
    result = VerifyResult(True, 0, genesis_hash("sha256"))
    for index, item in enumerate(items):
        result = verify_file(
            item,
            keyring=keyring,
            strict=strict,
            expect_head=expect_head if index == len(items) - 1 else None,
            allow_unsigned=allow_unsigned,
        )
        total += result.entries
        unsigned += result.unsigned
        unchecked += result.unchecked
        if not result.ok:
            return result
    return VerifyResult(
        True, total, result.head, None, None, result.path, unsigned, unchecked, result.expect_head_line
    )
