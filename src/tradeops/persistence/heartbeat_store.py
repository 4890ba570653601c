"""The heartbeat's store-backed adapter: the latest beat in the kv row `runtime.scheduler_heartbeat`."""

from __future__ import annotations

from typing import Protocol

from tradeops.runtime.heartbeat import HEARTBEAT_KV_KEY, Heartbeat


class _KvWriter(Protocol):
    def kv_set(self, key: str, value: str) -> None: ...


class StoreHeartbeatSink:
    """HeartbeatSink over the state store's kv table (one row, overwritten each beat)."""

    def __init__(self, store: _KvWriter) -> None:
        self.store = store

    def publish(self, beat: Heartbeat) -> None:
        self.store.kv_set(HEARTBEAT_KV_KEY, beat.to_json())
