"""The scheduler's heartbeat and kill-switch confirmation, as rows of the state store's kv (operator
state, read by `tradeops watchdog` from another process). Minimal on purpose: one function writes,
one reads; a richer heartbeat (issue 15) replaces what is behind them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

HEARTBEAT_KEY = "scheduler_heartbeat"
KILL_CONFIRMED_KEY = "kill_switch_confirmed"


class KvStore(Protocol):
    def kv_get(self, key: str) -> str | None: ...

    def kv_set(self, key: str, value: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Heartbeat:
    ts_ms: int
    run_id: str
    pid: int


def write_heartbeat(store: KvStore, beat: Heartbeat) -> None:
    store.kv_set(HEARTBEAT_KEY, json.dumps({"ts_ms": beat.ts_ms, "run_id": beat.run_id, "pid": beat.pid}))


def read_heartbeat(store: KvStore) -> Heartbeat | None:
    raw = store.kv_get(HEARTBEAT_KEY)
    if not raw:
        return None
    try:
        data = json.loads(raw)
        return Heartbeat(int(data["ts_ms"]), str(data["run_id"]), int(data["pid"]))
    except (ValueError, KeyError, TypeError):
        return None  # unreadable: treated as no heartbeat (the watchdog acts on staleness)


def confirm_kill_switch(store: KvStore, ts_ms: int, engaged: bool, cancelled: int) -> None:
    """The scheduler has acted on the kill switch (cancelled `cancelled` orders) at `ts_ms`."""
    store.kv_set(KILL_CONFIRMED_KEY, json.dumps({"ts_ms": ts_ms, "engaged": engaged, "cancelled": cancelled}))


def kill_switch_confirmed_ms(store: KvStore) -> int | None:
    """When the scheduler last confirmed an engaged kill switch (None: not confirmed)."""
    raw = store.kv_get(KILL_CONFIRMED_KEY)
    if not raw:
        return None
    try:
        data = json.loads(raw)
        return int(data["ts_ms"]) if data.get("engaged") else None
    except (ValueError, KeyError, TypeError):
        return None
