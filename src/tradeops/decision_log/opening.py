"""What a writer checks before it appends to an existing log (all O(tail)): the last line is a
complete entry of this format, this key signs it, and the anchor agrees with the end of the log."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradeops.decision_log.anchor import Anchor, anchor_path, read_anchor
from tradeops.decision_log.check import entry_mac_ok, parse_line, signature_shape_problem
from tradeops.decision_log.entry import line_hash, parse_hash
from tradeops.decision_log.errors import LogMismatchError, TornTailError
from tradeops.decision_log.keys import KEY_SOURCES, SigningKey
from tradeops.decision_log.reader import Tail, count_lines

FORMAT1_HINT = (
    "it was written in format 1 (before logs had a genesis entry, a log id and an anchor); "
    "verify it with the release that wrote it, then move it aside (mv {path} {path}.format1) "
    "and tradeops starts a new log"
)


@dataclass(frozen=True, slots=True)
class LogEnd:
    """The end of a log as a writer needs it."""

    seq: int
    last_line: bytes | None
    log_id: str | None
    key_id: str | None  # the key id signing the last entry (None: unsigned or empty)
    anchor: Anchor | None


def _torn(path: Path, tail: Tail, cap: int) -> None:
    repair = f"run `tradeops decision-log repair {path}`"
    if tail.overlong:
        raise TornTailError(
            f"decision log {path}: its last line is longer than the {cap}-byte line cap "
            f"(decision_log.max_line_bytes): {repair}"
        )
    if tail.partial_length:
        line = count_lines(path) + 1
        raise TornTailError(
            f"decision log {path}: line {line} is torn (no trailing newline, {tail.partial_length} "
            f"bytes; a crash during a write): {repair}"
        )


def _last_entry(path: Path, line: bytes) -> dict[str, Any]:
    entry, problem = parse_line(line)
    if problem == "not valid JSON":
        number = count_lines(path)
        repair = f"run `tradeops decision-log repair {path}`"
        raise TornTailError(f"decision log {path}: last line {number} is not valid JSON: {repair}")
    if isinstance(entry, dict) and "log_id" not in entry and "seq" in entry:
        raise LogMismatchError(f"decision log {path}: " + FORMAT1_HINT.format(path=path))
    if problem is not None or type(entry.get("seq")) is not int or type(entry.get("log_id")) is not str:
        why = problem or "no seq/log_id"
        raise LogMismatchError(
            f"decision log {path}: its last line is not a valid entry ({why}); "
            f"run `tradeops decision-log verify {path}`"
        )
    return entry  # type: ignore[no-any-return]


def _key_problem(path: Path, entry: dict[str, Any], key: SigningKey | None) -> str | None:
    signature = entry.get("signature")
    seq = entry["seq"]
    if signature is None:
        return None if key is None else f"its entries are unsigned (seq {seq}); start a new log to sign"
    if signature_shape_problem(signature) is not None:
        return f"entry {seq} has a malformed signature; run `tradeops decision-log verify {path}`"
    if key is None:
        return f"it is signed with key id {signature['key_id']!r} but no key is configured: {KEY_SOURCES}"
    if signature["key_id"] != key.key_id:
        return (
            f"it is signed with key id {signature['key_id']!r}, not {key.key_id!r}: use that key, or "
            f"`tradeops decision-log rotate-key {path}` to move to a new one"
        )
    if not entry_mac_ok(entry, key):
        return (
            f"its last entry (seq {seq}) does not verify with the configured key {key.key_id!r}: "
            "wrong or re-created key file? Restore the key that signed this log"
        )
    return None


def _anchor_problem(path: Path, end: LogEnd, anchor: Anchor | None, problem: str | None) -> str | None:
    fix = f"run `tradeops decision-log verify {path}`"
    if problem is not None:
        return f"{problem}; {fix}"
    if anchor is None:
        if end.seq <= 1:
            return None  # a genesis written just before a crash, not yet anchored
        return (
            f"it has {end.seq} entries but no anchor {anchor_path(path)}: {fix}, then "
            f"`tradeops decision-log anchor --reanchor {path}` if the anchor was lost"
        )
    if anchor.log_id != end.log_id:
        return f"its anchor names log {anchor.log_id}, the log is {end.log_id} (replaced?); {fix}"
    if anchor.seq > end.seq:
        return f"it ends at seq {end.seq} but its anchor says seq {anchor.seq} (truncated?); {fix}"
    parsed = parse_hash(anchor.head)
    last = end.last_line
    if anchor.seq == end.seq and parsed and last is not None and line_hash(last, parsed[0]) != anchor.head:
        return f"its last entry is not the anchored one (seq {anchor.seq}, replaced?); {fix}"
    return None


def inspect_end(path: Path, tail: Tail, key: SigningKey | None, cap: int, *, check_anchor: bool) -> LogEnd:
    """Refuse (one line) a log this writer must not append to; return its end otherwise."""
    _torn(path, tail, cap)
    keyring = {key.key_id: key} if key is not None else {}
    anchor, anchor_problem = read_anchor(path, keyring, allow_unsigned=key is None)
    if tail.last_line is None:
        if anchor is not None and anchor.seq > 1:
            raise LogMismatchError(
                f"decision log {path}: it is empty but its anchor says seq {anchor.seq} (emptied?); "
                "restore it from a copy, or move log and anchor aside to start a new log"
            )
        return LogEnd(0, None, None, None, None)
    entry = _last_entry(path, tail.last_line)
    signature = entry.get("signature")
    key_id = signature.get("key_id") if isinstance(signature, dict) else None
    end = LogEnd(entry["seq"], tail.last_line, entry["log_id"], key_id, anchor)
    problem = _key_problem(path, entry, key)
    if problem is None and check_anchor:
        problem = _anchor_problem(path, end, anchor, anchor_problem)
    if problem is not None:
        raise LogMismatchError(f"decision log {path}: {problem}")
    return end
