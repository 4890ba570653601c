"""The leader lease: one key in a JetStream KV bucket whose TTL is the lease TTL.

Winning is `create` (only one host can create a key that does not exist); keeping it is a CAS
`update` on the revision we last wrote, every ttl/5. The epoch (the fencing token) comes from the
fence row in PostgreSQL, advanced once per win. This host's standing is judged locally from the
send time of its last successful renewal, which is never later than when the server started the
TTL: LEADING up to ttl/2, REDUCING up to 3/4 ttl, then LOST — before any other host can win.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nats.js.api import KeyValueConfig
from nats.js.errors import KeyWrongLastSequenceError

from tradeops.cluster.connection import ClusterUnavailable, NatsConnection
from tradeops.runtime.cluster_guard import Standing

log = logging.getLogger(__name__)
REDUCE_AT = 0.5  # of the TTL since the last successful renewal
HALT_AT = 0.75


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    host_id: str
    epoch: int
    renewed_ms: int
    revision: int


def ensure_bucket(conn: NatsConnection, bucket: str, ttl_s: float | None, timeout: float) -> Any:
    async def make() -> Any:
        try:
            return await conn.js.key_value(bucket)
        except Exception:
            config = KeyValueConfig(bucket=bucket, history=1, ttl=ttl_s)
            return await conn.js.create_key_value(config=config)

    return conn.call(make(), timeout)


def read_lease(conn: NatsConnection, kv: Any, key: str, timeout: float) -> LeaseRecord | None:
    async def get() -> LeaseRecord | None:
        try:
            entry = await kv.get(key)
        except Exception:
            return None
        if not entry.value:
            return None
        data = json.loads(entry.value)
        return LeaseRecord(str(data["host_id"]), int(data["epoch"]), int(data["renewed_ms"]), entry.revision)

    return conn.call(get(), timeout)


class LeaderLease:
    """Implements the runtime's LeaseStanding port for this host."""

    def __init__(
        self,
        conn: NatsConnection,
        kv: Any,
        key: str,
        host_id: str,
        ttl_s: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.conn = conn
        self.kv = kv
        self.key = key
        self.host_id = host_id
        self.ttl_s = ttl_s
        self._monotonic = monotonic
        self.epoch = 0
        self._revision = 0
        self._last_ok: float | None = None
        self._lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.renewals = 0
        self.renew_failures = 0

    def _value(self, epoch: int) -> bytes:
        now_ms = time.time_ns() // 1_000_000
        return json.dumps({"host_id": self.host_id, "epoch": epoch, "renewed_ms": now_ms}).encode()

    def try_acquire(self, advance_epoch: Callable[[], int]) -> bool:
        """Win the lease if nobody holds it; then take a new epoch and publish it in the lease."""
        sent = self._monotonic()
        try:
            revision = self.conn.call(self.kv.create(self.key, self._value(0)), self.ttl_s / 4)
        except ClusterUnavailable:
            return False
        try:
            self.epoch = advance_epoch()
        except Exception:  # the fence row cannot be advanced (PostgreSQL away): give the lease back
            log.exception("cluster: won the lease but cannot take a new epoch; releasing it")
            with contextlib.suppress(ClusterUnavailable):
                self.conn.call(self.kv.delete(self.key, last=revision), self.ttl_s / 4)
            return False
        self._revision = revision
        self._last_ok = sent
        self._lost = False
        if not self._renew():
            return False
        self._thread = threading.Thread(target=self._run, name="lease-renew", daemon=True)
        self._thread.start()
        return True

    def _renew(self) -> bool:
        sent = self._monotonic()
        try:
            self._revision = self.conn.call(
                self.kv.update(self.key, self._value(self.epoch), last=self._revision), self.ttl_s / 4
            )
        except ClusterUnavailable as exc:
            self.renew_failures += 1
            if isinstance(exc.__cause__, KeyWrongLastSequenceError):
                self._lost = True  # someone else wrote the key: the lease is gone for good
            return False
        self._last_ok = sent
        self.renewals += 1
        return True

    def _run(self) -> None:
        interval = self.ttl_s / 5
        while not self._stop.wait(interval) and not self._lost:
            if self.standing() is Standing.LOST:
                return
            self._renew()

    def standing(self) -> Standing:
        if self._lost or self._last_ok is None:
            return Standing.LOST
        age = self._monotonic() - self._last_ok
        if age < self.ttl_s * REDUCE_AT:
            return Standing.LEADING
        if age < self.ttl_s * HALT_AT:
            return Standing.REDUCING
        self._lost = True  # once lost, never leading again with this epoch
        return Standing.LOST

    def age_s(self) -> float | None:
        return None if self._last_ok is None else self._monotonic() - self._last_ok

    def abandon(self) -> None:
        """Stop renewing without releasing (what a kill -9 looks like to the others)."""
        self._stop.set()

    def release(self) -> None:
        """A clean stop hands over at once (the followers need not wait for the TTL)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        if self.standing() is Standing.LOST:
            return
        self._lost = True
        try:
            self.conn.call(self.kv.delete(self.key, last=self._revision), 1.0)
        except ClusterUnavailable:
            return
