"""Signing and verifying the merged operations-log anchor (its transport: cluster/ops_anchor.py).

`verify_merged` checks the merged document's signature and each host anchor's, then each given
operations log against its host's entry (found by the log id of its genesis entry)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from tradeops.cluster.ops_anchor import KIND, MergedAnchor, Signer
from tradeops.decision_log.chain import ChainBroken, iter_chain
from tradeops.decision_log.check import entry_mac_ok, parse_line, signature_shape_problem
from tradeops.decision_log.entry import sign_document
from tradeops.decision_log.keys import ANY_KEY_ID, SigningKey


def signer(key: SigningKey | None) -> Signer:
    """Signs a merged document like an anchor (None: unsigned, which verify refuses)."""

    def sign(document: dict[str, Any]) -> bytes:
        return sign_document(document, key)[1]

    return sign


def _signed_problem(
    line: bytes, what: str, keyring: Mapping[str, SigningKey], allow_unsigned: bool
) -> tuple[Any, str | None]:
    document, problem = parse_line(line)
    if problem is not None:
        return None, f"{what}: {problem}"
    signature = document.get("signature")
    if signature is None:
        return document, None if allow_unsigned else f"{what} is unsigned"
    if signature_shape_problem(signature) is not None:
        return None, f"{what}: malformed signature"
    key = keyring.get(signature["key_id"], keyring.get(ANY_KEY_ID))
    if key is None:
        return None, f"{what} is signed with key id {signature['key_id']!r}, which is not in the keyring"
    if not entry_mac_ok(document, key):
        return None, f"{what}: signature mismatch (edited, or signed with another key)"
    return document, None


def verify_merged(
    merged: MergedAnchor | None,
    logs: list[Path],
    keyring: Mapping[str, SigningKey],
    allow_unsigned: bool = False,
) -> tuple[bool, list[str]]:
    """(ok, report lines): the merged anchor's and every host anchor's signatures, and each given
    log that is one of the cluster's operations logs against its host's anchored head."""
    if merged is None:
        return True, ["note: no operations-log anchor in the cluster yet"]
    document, problem = _signed_problem(merged.raw, "ops anchor", keyring, allow_unsigned)
    if problem is not None or document.get("kind") != KIND:
        return False, [f"FAIL: {problem or 'ops anchor: not a merged anchor'}"]
    anchors: dict[str, tuple[str, int, str]] = {}
    for host, line in sorted(merged.hosts.items()):
        anchor, problem = _signed_problem(line, f"ops anchor of {host}", keyring, allow_unsigned)
        if problem is not None:
            return False, [f"FAIL: {problem}"]
        anchors[str(anchor["log_id"])] = (host, int(anchor["seq"]), str(anchor["head"]))
    report: list[str] = []
    checked: set[str] = set()
    for path in logs:
        log_id = _log_id(path)
        if log_id not in anchors:
            continue  # not an operations log of this cluster (the account's log, say)
        host, seq, head = anchors[log_id]
        checked.add(host)
        try:
            last, found = _head_at(path, seq)
        except ChainBroken:
            continue  # the ordinary verify that follows names the line
        if found is None:
            return False, [
                *report,
                f"FAIL: {path}: ends at seq {last}, below the cluster's anchor of {host} (seq {seq}): "
                "truncated, or an older copy put back",
            ]
        if found != head:
            return False, [*report, f"FAIL: {path}:{seq}: differs from the cluster's anchor of {host}"]
        report.append(f"OK: operations log of {host}: {path} reaches the cluster's anchor (seq {seq})")
    for host, seq, _head in sorted(anchors.values()):
        if host not in checked:
            report.append(f"note: operations log of {host} (anchored at seq {seq}) not given here")
    return True, report


def _log_id(path: Path) -> str:
    try:
        with Path(path).open("rb") as handle:
            first = orjson.loads(handle.readline())
    except (OSError, orjson.JSONDecodeError):
        return ""
    return str(first.get("log_id", "")) if isinstance(first, dict) else ""


def _head_at(path: Path, seq: int) -> tuple[int, str | None]:
    """(the last seq walked, the head after entry `seq`, None when the log ends before it)."""
    last = 0
    for number, head, _entry in iter_chain(path):
        last = number
        if number == seq:
            return last, head
    return last, None


def is_ops_log(merged: MergedAnchor | None, path: Path) -> bool:
    """`path` is one of the operations logs the merged anchor names (by its log id)."""
    if merged is None:
        return False
    log_id = _log_id(path)
    for line in merged.hosts.values():
        try:
            if log_id and orjson.loads(line).get("log_id") == log_id:
                return True
        except orjson.JSONDecodeError:
            continue
    return False
