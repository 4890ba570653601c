"""The operations logs of a cluster: one chain per host, and one merged signed anchor.

Each host's operations log (`decision_log.operations_log`) is written only by the commands run on
that host, so it stays a per-host chain with its own signed `<log>.anchor`. Every scheduler
process (follower or leader) puts its host's anchor, verbatim, into one document in the KV bucket
`<prefix>_audit`, key `ops_anchor`: `{"kind": "ops_anchor_merged", "hosts": {host id: anchor
line}, "updated": ...}`, signed with the signing key as a whole. Writers merge with a CAS update on
the revision they read, so no host's entry is lost to a race. `decision-log verify --stream`
checks the merged document's signature and each host anchor's, and each operations log given
against its host's entry: a log cut below the cluster's anchor (and an older anchor put back with
it) fails, as does an entry removed from the merged document (the signature). A host's entry only
moves forward: an anchor of the same log at an earlier entry is never merged (a new log, another
log id, replaces it). The lag is bounded by POLL_S after a command's writer closes (it anchors on
close)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

from tradeops.cluster.connection import ClusterUnavailable, NatsConnection
from tradeops.decision_log.anchor import anchor_path
from tradeops.decision_log.chain import ChainBroken, iter_chain
from tradeops.decision_log.check import entry_mac_ok, parse_line, signature_shape_problem
from tradeops.decision_log.entry import sign_document, utc_timestamp
from tradeops.decision_log.keys import ANY_KEY_ID, SigningKey

log = logging.getLogger(__name__)
KEY = "ops_anchor"
KIND = "ops_anchor_merged"
POLL_S = 1.0
CAS_TRIES = 8


@dataclass(frozen=True, slots=True)
class MergedAnchor:
    raw: bytes  # the signed document, canonical JSON
    hosts: dict[str, bytes]  # host id -> that host's anchor line (signed by it)


def read_merged(conn: NatsConnection, kv: Any, timeout: float) -> tuple[MergedAnchor | None, int]:
    """(the merged anchor, its revision); (None, 0) when no host has put one yet."""

    async def get() -> tuple[MergedAnchor | None, int]:
        try:
            entry = await kv.get(KEY)
        except KeyNotFoundError:
            return None, 0
        raw = entry.value or b""
        try:
            hosts = orjson.loads(raw).get("hosts", {})
            found = {str(k): str(v).encode() for k, v in hosts.items()}
        except (orjson.JSONDecodeError, AttributeError):
            found = {}
        return MergedAnchor(raw, found), int(entry.revision)

    return conn.call(get(), timeout)


def merge(conn: NatsConnection, kv: Any, host_id: str, anchor_line: bytes, key: SigningKey | None) -> None:
    """Put this host's anchor line into the merged document (CAS, retried on a race)."""
    for _ in range(CAS_TRIES):
        current, revision = read_merged(conn, kv, 2.0)
        hosts = {} if current is None else {k: v.decode() for k, v in current.hosts.items()}
        if host_id in hosts and _behind(anchor_line, hosts[host_id].encode()):
            log.error(
                "cluster: %s's operations-log anchor went back (an older copy put back?); the "
                "cluster keeps the newer one, so verify --stream fails until the log reaches it",
                host_id,
            )
            return
        hosts[host_id] = anchor_line.decode().strip()
        document = {"hosts": hosts, "kind": KIND, "updated": utc_timestamp(datetime.now(UTC))}
        _, line = sign_document(document, key)
        try:
            if revision == 0:
                conn.call(kv.create(KEY, line), 2.0)
            else:
                conn.call(kv.update(KEY, line, last=revision), 2.0)
            return
        except ClusterUnavailable as exc:
            if not isinstance(exc.__cause__, KeyWrongLastSequenceError):
                raise
            continue  # another host merged in between: read again
    raise ClusterUnavailable(f"ops anchor: {CAS_TRIES} concurrent updates in a row; try again")


class OpsAnchorSync:
    """Puts this host's operations-log anchor into the merged document whenever it changes."""

    def __init__(
        self, conn: NatsConnection, kv: Any, host_id: str, ops_log: Path, key: SigningKey | None
    ) -> None:
        self.conn = conn
        self.kv = kv
        self.host_id = host_id
        self.path = anchor_path(Path(ops_log))
        self.key = key
        self._sent: bytes | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ops-anchor", daemon=True)
        self.merges = 0

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        self.step()
        while not self._stop.wait(POLL_S):
            self.step()

    def step(self) -> None:
        try:
            line = self.path.read_bytes()
        except OSError:
            return  # no operations log on this host yet
        if line == self._sent:
            return
        try:
            merge(self.conn, self.kv, self.host_id, line, self.key)
        except ClusterUnavailable as exc:
            log.warning("cluster: operations-log anchor not merged yet: %s", exc)
            return
        self._sent = line
        self.merges += 1

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)


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


def _behind(new: bytes, held: bytes) -> bool:
    """The same log anchored at an earlier entry than the cluster holds (never merged)."""
    try:
        a, b = orjson.loads(new), orjson.loads(held)
        return bool(a["log_id"] == b["log_id"] and int(a["seq"]) < int(b["seq"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return False
