"""Verify logs: canonical bytes, schema, log identity, seq, hash chain, signatures, key rotations,
and the anchor. The first bad line is reported with its reason.

Strict by default: a line must be exactly the canonical JSON of its entry (no duplicate keys, no
re-serialisation), signed by the log's current key (the genesis names it; a key_rotation entry
endorsed by the old key moves to a new one), and carry the log's id. `allow_unsigned` admits only
entries that carry no signature at all; they are counted. Unless `check_anchor` is off the log must
reach the head recorded in its signed anchor, so truncation, an older copy or another log in its
place fails without extra flags. Memory is bounded by the line cap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from tradeops.decision_log.anchor import Anchor, anchor_path, read_anchor
from tradeops.decision_log.check import (
    entry_mac_ok,
    mac_matches,
    parse_line,
    signature_shape_problem,
)
from tradeops.decision_log.entry import (
    FORMAT_VERSION,
    GENESIS_KIND,
    HASHERS,
    REQUIRED_FIELDS,
    ROTATION_KIND,
    genesis_hash,
    line_hash,
    parse_hash,
    schema_problem,
)
from tradeops.decision_log.keys import ANY_KEY_ID, SIGNATURE_ALGORITHMS, HashAlgorithm, SigningKey
from tradeops.decision_log.reader import DEFAULT_MAX_LINE_BYTES, open_log
from tradeops.domain.errors import UserInputError


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
    expect_head_line: int | None = None  # line whose hash equals --expect-head
    log_id: str | None = None
    anchor_seq: int | None = None  # None: the anchor was not checked
    rotations: int = 0


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


_SIGNATURE_MEMBER = b'"signature":'
# The members of an ordinary entry (no extra fields, not a key rotation), and of its signature.
_ORDINARY_FIELDS = frozenset({*REQUIRED_FIELDS, "signature"})
_SIGNATURE_FIELDS = frozenset({"algorithm", "key_id", "value"})


def _fast_signed_bytes(line: bytes, signature: Mapping[str, Any], key: SigningKey) -> bytes | None:
    """The signed bytes of a canonical line: the line with its signature value cut out."""
    member = _SIGNATURE_MEMBER + key.signature_bytes(signature["value"])
    cut = line.rfind(member)
    if cut <= 0:
        return None
    return b"".join((line[:cut], _SIGNATURE_MEMBER, key.signature_head, line[cut + len(member) :]))


class _Checker:
    def __init__(self, keyring: Mapping[str, SigningKey], allow_unsigned: bool) -> None:
        self.keyring = dict(keyring)
        self.allow_unsigned = allow_unsigned
        self.unsigned = 0
        self.rotations = 0
        self.log_id: str | None = None
        self.key_id: str | None = None  # the log's current key id
        self.key_since = 1
        self._keys: dict[tuple[str, str], SigningKey] = {}

    def key(self, key_id: str, algorithm: str) -> SigningKey | None:
        cached = self._keys.get((key_id, algorithm))
        if cached is None:
            base = self.keyring.get(key_id, self.keyring.get(ANY_KEY_ID))
            if base is None:
                return None
            cached = SigningKey(key_id, base.secret, SIGNATURE_ALGORITHMS[algorithm])
            self._keys[key_id, algorithm] = cached
        return cached

    def fast_ok(self, entry: Any, line: bytes, number: int, prev_line: bytes | None) -> bool:
        """True only for an ordinary, fully valid entry signed by the current key (the common case);
        anything else goes through `check`'s rule-by-rule diagnosis."""
        if type(entry) is not dict or entry.keys() != _ORDINARY_FIELDS or prev_line is None:
            return False
        signature, prev_hash, timestamp, kind = (
            entry["signature"], entry["prev_hash"], entry["timestamp"], entry["kind"]
        )  # fmt: skip
        if type(signature) is not dict or signature.keys() != _SIGNATURE_FIELDS:
            return False
        try:
            key = self._keys.get((signature["key_id"], signature["algorithm"]))
        except TypeError:  # an unhashable key id or algorithm (a list, an object)
            return False
        value = signature["value"]
        if not (
            key is not None
            and signature["key_id"] == self.key_id
            and entry["seq"] == number
            and type(entry["seq"]) is int
            and entry["log_id"] == self.log_id
            and type(kind) is str
            and kind
            and kind != GENESIS_KIND
            and kind != ROTATION_KIND
            and type(entry["stage"]) is str
            and type(entry["status"]) is str
            and entry["stage"]
            and entry["status"]
            and type(entry["artefacts"]) is dict
            and type(entry["metadata"]) is dict
            and type(entry["tags"]) is list
            and type(timestamp) is str
            and type(prev_hash) is str
            and type(value) is str
            and value.isascii()
            and timestamp.endswith("+00:00")
            and prev_hash[:6] in HASHERS
            and prev_hash[6:7] == ":"
            and prev_hash[7:] == HASHERS[prev_hash[:6]](prev_line).hexdigest()
        ):
            return False
        try:
            datetime.fromisoformat(timestamp)
        except ValueError:
            return False
        return key.line_signed(line, value)

    def check(self, line: bytes, number: int, prev_line: bytes | None) -> tuple[Any, str | None]:
        entry, problem = parse_line(line)
        if problem is None and self.fast_ok(entry, line, number, prev_line):
            return entry, None
        if problem is not None:
            if number == 1 and isinstance(entry, dict) and "log_id" not in entry:
                problem = "no log_id: this log is in format 1 (written by an older release)"
            return entry, problem
        problem = schema_problem(entry)
        if problem is not None:
            if number == 1 and "log_id" not in entry:
                return entry, (
                    "no log_id: this log is in format 1 (written by an older release); verify it "
                    "with that release, move it aside and let tradeops start a new log"
                )
            return entry, "schema: " + problem
        seq = entry["seq"]
        if seq != number:
            cause = (
                "an entry before this line was deleted, or lines were reordered"
                if seq > number
                else "this line was inserted, duplicated or moved"
            )
            return entry, f"seq {seq}, expected {number}: {cause}"
        problem = _chain_problem(entry["prev_hash"], number, prev_line) or _utc_problem(entry["timestamp"])
        problem = problem or self._identity_problem(entry, number)
        return entry, problem or self._signature_problem(entry, line, number)

    def _identity_problem(self, entry: dict[str, Any], number: int) -> str | None:
        if number > 1:
            if entry["kind"] == GENESIS_KIND:
                return "a second genesis entry: lines from another log were spliced in"
            if entry["log_id"] != self.log_id:
                return f"log_id {entry['log_id']!r} is not this log's ({self.log_id!r}): from another log"
            return None
        if entry["kind"] != GENESIS_KIND:
            return "line 1 is not a genesis entry: earlier lines were removed or the log was replaced"
        artefacts = entry["artefacts"]
        signature = entry.get("signature")
        signed_id = signature.get("key_id") if isinstance(signature, dict) else None
        if (
            artefacts.get("format") != FORMAT_VERSION
            or not isinstance(artefacts.get("environment"), str)
            or not isinstance(artefacts.get("created"), str)
            or artefacts.get("key_id") != signed_id
        ):
            return "genesis entry must name format, environment, creation time and the key id that signs it"
        self.log_id, self.key_id = entry["log_id"], signed_id
        return None

    def _signature_problem(self, entry: dict[str, Any], line: bytes, number: int) -> str | None:
        signature = entry.get("signature")
        if signature is None:
            if self.allow_unsigned:
                self.unsigned += 1
                return None
            return "entry is unsigned (pass --allow-unsigned to accept entries without a signature)"
        problem = signature_shape_problem(signature)
        if problem is not None:
            return problem
        key_id = signature["key_id"]
        key = self.key(key_id, signature["algorithm"])
        if key is None:
            return f"unknown key id {key_id!r}: pass that key (--hmac-key-file) or a --keyring holding it"
        if entry["kind"] == ROTATION_KIND:
            return self._rotation_problem(entry, key, number)
        if key_id != self.key_id:
            return (
                f"signed with key id {key_id!r} but the log's key is {self.key_id!r} (since line "
                f"{self.key_since}); a key change needs a key_rotation entry"
            )
        signed = _fast_signed_bytes(line, signature, key)
        if signed is None or not mac_matches(key, signature, signed):
            return (
                f"signature mismatch ({signature['algorithm']}, key id {key_id!r}): "
                "the entry was edited or signed with another key"
            )
        return None

    def _rotation_problem(self, entry: dict[str, Any], new_key: SigningKey, number: int) -> str | None:
        rotation = entry.get("key_rotation")
        if not isinstance(rotation, dict) or set(rotation) != {"from_key_id", "to_key_id", "endorsement"}:
            return "key_rotation entry must carry key_rotation {from_key_id, to_key_id, endorsement}"
        endorsement = rotation["endorsement"]
        problem = signature_shape_problem(endorsement, "key_rotation.endorsement")
        if problem is not None:
            return problem
        if rotation["from_key_id"] != self.key_id or endorsement["key_id"] != self.key_id:
            return f"key rotation from {rotation['from_key_id']!r}, but the log's key is {self.key_id!r}"
        if rotation["to_key_id"] != entry["signature"]["key_id"]:
            return "key rotation entry is not signed by the key it rotates to"
        old_key = self.key(endorsement["key_id"], endorsement["algorithm"])
        if old_key is None or not entry_mac_ok(entry, old_key, "key_rotation.endorsement"):
            return f"key rotation not endorsed by the current key {self.key_id!r} (forged rotation)"
        if not entry_mac_ok(entry, new_key):
            return f"signature mismatch on the key rotation to {rotation['to_key_id']!r}"
        self.key_id, self.key_since = rotation["to_key_id"], number
        self.rotations += 1
        return None


def _expected_log_id(expect_head: str | None) -> str | None:
    """The log_id= field of an `anchor` line given as --expect-head (None for a bare hash)."""
    for token in (expect_head or "").split():
        if token.startswith("log_id="):
            return token[len("log_id=") :]
    return None


def _expected_head(expect_head: str | None) -> tuple[HashAlgorithm, str] | None:
    """`<alg>:<hex>`, or the line `tradeops decision-log anchor` prints (its head= field)."""
    if expect_head is None:
        return None
    text = expect_head.strip()
    for token in text.split():
        if token.startswith("head="):
            text = token[len("head=") :]
    parsed = parse_hash(text)
    if parsed is None:
        raise UserInputError(
            f"--expect-head {expect_head!r}: use <sha256|sha384>:<hex> as printed by verify or anchor"
        )
    return parsed[0], f"{parsed[0]}:{parsed[1].lower()}"


@dataclass
class _Scan:
    number: int = 0
    prev_line: bytes | None = None
    last_alg: str = "sha256"
    found: int | None = None
    anchored_hash: str | None = None


def _anchor_problem(
    path: Path, anchor: Anchor | None, scan: _Scan, log_id: str | None
) -> tuple[int, str] | None:
    """(line, reason) when the log does not reach the head its anchor records."""
    end = scan.number + 1
    if anchor is None:
        return end, (
            f"no anchor {anchor_path(path)}: the log's end cannot be checked (truncation, older copy); "
            "pass --no-anchor to verify the chain only"
        )
    if anchor.log_id != log_id:
        return 1, f"the anchor names log {anchor.log_id!r}, this is log {log_id!r}: another log in its place"
    if anchor.seq > scan.number:
        return end, (
            f"the log ends at seq {scan.number} but its anchor records seq {anchor.seq}: "
            "entries were removed from the end (truncated) or an older copy was put back"
        )
    if scan.anchored_hash != anchor.head:
        return anchor.seq, (
            f"line {anchor.seq} is not the anchored entry (anchor head {anchor.head}): "
            "the log was replaced or rewritten"
        )
    return None


def _scan_lines(
    handle: Any,
    checker: _Checker,
    scan: _Scan,
    expected: tuple[HashAlgorithm, str] | None,
    anchor: Anchor | None,
    max_line_bytes: int,
    repair: str,
) -> tuple[int, str] | None:
    """Check every line in order; (line, reason) of the first bad one.

    The common case (an ordinary entry, canonical, signed by the current key) is decided inline;
    anything else goes through `_Checker.check`, which names the first broken rule.
    """
    anchored = parse_hash(anchor.head) if anchor is not None else None
    readline, limit = handle.readline, max_line_bytes + 1
    loads, fast_ok = orjson.loads, checker.fast_ok
    while True:
        raw = readline(limit)
        if not raw:
            return None
        scan.number += 1
        if raw[-1:] != b"\n":
            if len(raw) >= limit:
                return scan.number, f"line longer than the {max_line_bytes}-byte line cap"
            return scan.number, f"torn last line: no trailing newline; {repair}"
        line = raw[:-1]
        try:
            # No re-serialisation here: the MAC is checked over the line's own bytes (signature value
            # cut out), and the writer signs only canonical lines, so a line that passes is
            # byte-for-byte a canonical one. Every other line is diagnosed by check().
            entry = loads(line)
            fast = fast_ok(entry, line, scan.number, scan.prev_line)
        except orjson.JSONDecodeError:
            fast = False
        if not fast:
            entry, reason = checker.check(line, scan.number, scan.prev_line)
            if reason is not None:
                if reason == "not valid JSON" and not handle.read(1):
                    reason = f"torn last line: not valid JSON; {repair}"
                return scan.number, reason
        if expected is not None and scan.found is None and line_hash(line, expected[0]) == expected[1]:
            scan.found = scan.number
        if anchor is not None and scan.number == anchor.seq and anchored is not None:
            scan.anchored_hash = line_hash(line, anchored[0])
        scan.prev_line, scan.last_alg = line, entry["prev_hash"][:6]


def verify_file(
    path: str | Path,
    *,
    keyring: Mapping[str, SigningKey],
    strict: bool = True,
    expect_head: str | None = None,
    allow_unsigned: bool = False,
    check_anchor: bool = True,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> VerifyResult:
    """Verify one log. An unreadable file raises UserInputError; a bad log returns ok=False.

    `strict` is accepted for old callers; verification is always strict.
    """
    del strict
    path = Path(path)
    expected = _expected_head(expect_head)
    checker = _Checker(keyring, allow_unsigned)
    scan = _Scan()
    anchor: Anchor | None = None
    if check_anchor:
        anchor, problem = read_anchor(path, keyring, allow_unsigned=allow_unsigned)
        if problem is not None:
            return VerifyResult(False, 0, "", 0, problem, str(path))
    if expected is not None and expected[1] == genesis_hash(expected[0]):
        scan.found = 0
    with open_log(path) as handle:
        failure = _scan_lines(handle, checker, scan, expected, anchor, max_line_bytes, repair_hint(path))
    return finish(path, checker, scan, failure, anchor, expect_head, check_anchor)


def repair_hint(path: Path) -> str:
    return f"run `tradeops decision-log repair {path}`"


def finish(
    path: Path,
    checker: _Checker,
    scan: _Scan,
    failure: tuple[int, str] | None,
    anchor: Anchor | None,
    expect_head: str | None,
    check_anchor: bool,
) -> VerifyResult:
    """The result once every line was scanned (or the first bad one found): the log-level checks."""
    expected = _expected_head(expect_head)
    head = line_hash(scan.prev_line, scan.last_alg) if scan.prev_line is not None else genesis_hash("sha256")
    if failure is None and scan.number == 0:
        failure = 1, "the log is empty: it has no genesis entry (emptied, or not a decision log)"
    if failure is None and check_anchor:
        failure = _anchor_problem(path, anchor, scan, checker.log_id)
    expected_log = _expected_log_id(expect_head)
    if failure is None and expected_log is not None and expected_log != checker.log_id:
        failure = (
            1,
            (
                f"this is log {checker.log_id!r}, the expected head belongs to log {expected_log!r}: "
                "another log in its place"
            ),
        )
    if failure is None and expected is not None and scan.found is None:
        failure = (
            scan.number + 1,
            (
                f"expected head {expected[1]} is not the hash of any line: the log was truncated "
                f"(it ends at line {scan.number}, head {head}) or rewritten"
            ),
        )
    if failure is not None:
        return VerifyResult(
            False, scan.number, "", failure[0], failure[1], str(path), checker.unsigned, log_id=checker.log_id
        )
    anchor_seq = anchor.seq if anchor is not None else None
    return VerifyResult(
        True, scan.number, head, None, None, str(path), checker.unsigned, scan.found, checker.log_id,
        anchor_seq, checker.rotations,
    )  # fmt: skip


def verify_log(
    paths: str | Path | Iterable[str | Path],
    *,
    keyring: Mapping[str, SigningKey],
    strict: bool = True,
    expect_head: str | None = None,
    allow_unsigned: bool = False,
    check_anchor: bool = True,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> VerifyResult:
    """Verify each log in turn (each is its own chain) and stop at the first failure.

    `expect_head` applies to the last path. On success `entries` is the total and `head` the last log's.
    """
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    if not items:
        raise UserInputError("no decision log given: pass at least one PATH")
    total = unsigned = 0
    result = VerifyResult(True, 0, genesis_hash("sha256"))
    for index, item in enumerate(items):
        result = verify_file(
            item,
            keyring=keyring,
            strict=strict,
            expect_head=expect_head if index == len(items) - 1 else None,
            allow_unsigned=allow_unsigned,
            check_anchor=check_anchor,
            max_line_bytes=max_line_bytes,
        )
        total += result.entries
        unsigned += result.unsigned
        if not result.ok:
            return result
    return VerifyResult(
        True, total, result.head, None, None, result.path, unsigned, result.expect_head_line, result.log_id,
        result.anchor_seq, result.rotations,
    )  # fmt: skip
