"""The kill switch and overrides across hosts: every override file also lives in a KV bucket,
keyed `<environment>.<file name>`. A watcher keeps the latest value of each key (a scheduler
started later gets every value first) and judges them like files, fail-safe: a value that is not
a valid override document for its name halts trading like a malformed file."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from tradeops.cluster.connection import ClusterUnavailable, NatsConnection
from tradeops.cluster.names import override_key, token
from tradeops.config.overrides import COMPONENTS
from tradeops.runtime.overrides import INACTIVE, OverrideState, parse_override

log = logging.getLogger(__name__)
KV_PREFIX = "nats-kv:"  # the `path` an override from the bucket reports


def _severity(state: OverrideState) -> int:
    return (3 if state.malformed else 2) if state.active else 0


class KvOverrides:
    """Implements the runtime's BucketOverrides port (runtime/cluster_guard.py) and the ops'
    OverrideBus port."""

    def __init__(self, conn: NatsConnection, kv: Any, environment: str, timeout: float) -> None:
        self.conn = conn
        self.kv = kv
        self.environment = environment
        self.timeout = timeout
        self._values: dict[str, bytes] = {}
        self._strategies: dict[str, bytes] = {}  # per-strategy disable, by strategy name
        self._strategy_prefix = f"{token(environment)}.strategy."
        self._lock = threading.Lock()
        self._state = INACTIVE
        self._file_by_key = {override_key(environment, c.file_name): c.file_name for c in COMPONENTS.values()}
        self.ready = threading.Event()
        self.updates = 0

    # --- watching --------------------------------------------------------------------------------

    def start(self) -> None:
        self.conn.spawn(self._watch())
        if not self.ready.wait(self.timeout):
            raise ClusterUnavailable(f"NATS {self.conn.url}: override bucket did not answer in time")

    async def _watch(self) -> None:
        watcher = await self.kv.watch(f"{token(self.environment)}.>")
        async for entry in watcher:
            if entry is None:  # the initial values are all delivered
                self.ready.set()
                continue
            with self._lock:
                values, key = self._values, entry.key
                if key.startswith(self._strategy_prefix):
                    values, key = self._strategies, key.removeprefix(self._strategy_prefix)
                if entry.operation in ("DEL", "PURGE") or not entry.value:
                    values.pop(key, None)
                else:
                    values[key] = entry.value
                self._state = self._judge()
                self.updates += 1

    def _judge(self, now_ms: int = 0) -> OverrideState:
        worst = INACTIVE
        for key, value in self._values.items():
            name = self._file_by_key.get(key, key)
            state = parse_override(value, Path(KV_PREFIX + name), now_ms)
            if _severity(state) > _severity(worst):
                worst = state
        return worst

    def state(self) -> OverrideState:
        return self._state

    def strategy_disabled(self, strategy: str, now_ms: int) -> bool:
        """Disabled through the bucket (and not past its `until_ms`); a malformed value disables."""
        raw = self._strategies.get(token(strategy))
        if raw is None:
            return False
        try:
            value = json.loads(raw)
            disabled, until = bool(value["disabled"]), value.get("until_ms")
            if until is not None and type(until) is not int:
                raise TypeError("until_ms")
        except (ValueError, KeyError, TypeError):
            return True
        return disabled and (until is None or now_ms < until)

    def disconnected_for(self) -> float:
        return self.conn.disconnected_for()

    # --- publishing (ops) ------------------------------------------------------------------------

    def publish_strategy(self, strategy: str, disabled: bool, until_ms: int | None) -> None:
        """Per-strategy disable/enable for every host (the shared store holds it, too)."""
        key = f"{self._strategy_prefix}{token(strategy)}"
        data = json.dumps({"disabled": disabled, "until_ms": until_ms}).encode()
        self.conn.call(self.kv.put(key, data), self.timeout)

    def publish(self, file_name: str, data: bytes | None) -> None:
        """Put (or, with None, delete) one override document for every host."""
        key = override_key(self.environment, file_name)
        if data is None:
            self.conn.call(self.kv.delete(key), self.timeout)
        else:
            self.conn.call(self.kv.put(key, data), self.timeout)
