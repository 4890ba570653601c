"""The operations logs of a cluster: one chain per host, and one merged signed anchor.

Each host's operations log (`decision_log.operations_log`) is written only by the commands run on
that host, so it stays a per-host chain with its own signed `<log>.anchor`. Every scheduler
process (follower or leader) puts its host's anchor, verbatim, into one document in the KV bucket
`<prefix>_audit`, key `ops_anchor`: `{"kind": "ops_anchor_merged", "hosts": {host id: anchor
line}, "updated": ...}`, signed with the signing key as a whole. Writers merge with a CAS update on
the revision they read, so no host's entry is lost to a race. `decision-log verify --stream`
checks the merged document's signature and each host anchor's, and each operations log given
against its host's entry: a log cut below the cluster's anchor (and an older anchor put back with
it) fails, as does an entry removed from the merged document (the signature): the checks are in
bootstrap/cluster_ops_anchor.py (this layer signs nothing itself; bootstrap hands it a signer).
A host's entry only moves forward: an anchor of the same log at an earlier entry is never
merged (a new log, another log id, replaces it). The lag is bounded by POLL_S after a command's
writer closes (it anchors on close)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

from tradeops.cluster.connection import ClusterUnavailable, NatsConnection

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


Signer = Callable[[dict[str, Any]], bytes]  # a document -> its signed line (bootstrap gives it)


def merge(conn: NatsConnection, kv: Any, host_id: str, anchor_line: bytes, sign: Signer) -> None:
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
        document = {"hosts": hosts, "kind": KIND, "updated": datetime.now(UTC).isoformat()}
        line = sign(document)
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

    def __init__(self, conn: NatsConnection, kv: Any, host_id: str, anchor_file: Path, sign: Signer) -> None:
        self.conn = conn
        self.kv = kv
        self.host_id = host_id
        self.path = Path(anchor_file)
        self.sign = sign
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
            merge(self.conn, self.kv, self.host_id, line, self.sign)
        except ClusterUnavailable as exc:
            log.warning("cluster: operations-log anchor not merged yet: %s", exc)
            return
        self._sent = line
        self.merges += 1

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)


def _behind(new: bytes, held: bytes) -> bool:
    """The same log anchored at an earlier entry than the cluster holds (never merged)."""
    try:
        a, b = orjson.loads(new), orjson.loads(held)
        return bool(a["log_id"] == b["log_id"] and int(a["seq"]) < int(b["seq"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return False
