"""A host's override files and the cluster's override bucket, kept in step by every scheduler
process (follower or leader), so the runbooks' file operations work on any host of a cluster.

The ops commands (kill-switch, the disable script, the control API) write the file and put it in
the bucket themselves. What they do not cover is an operator acting on the file directly, as the
runbooks do (`rm var/runtime/overrides/multi_strategy_disable.json`). So each scheduler watches its
own directory and, on a change it sees happen:
- a file removed: the bucket's value is deleted if it is still the document that file held (so an
  `rm` on one host lifts the override on every host, but never one another host put there since);
- a file written or changed: its bytes are put in the bucket unless the bucket already holds them.
Files present when the process starts are only remembered (a restart never republishes an old
file); a host's own files stay in force on that host either way."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from nats.js.errors import KeyNotFoundError

from tradeops.cluster.connection import ClusterUnavailable, NatsConnection
from tradeops.cluster.names import override_key

log = logging.getLogger(__name__)
POLL_S = 0.25


class OverrideFileSync:
    def __init__(
        self, conn: NatsConnection, kv: Any, environment: str, directory: Path, file_names: list[str]
    ) -> None:
        self.conn = conn
        self.kv = kv
        self.environment = environment
        self.directory = Path(directory)
        self.file_names = list(file_names)
        self._seen = {name: self._read(name) for name in self.file_names}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="override-files", daemon=True)
        self.published = 0
        self.deleted = 0

    def start(self) -> None:
        self._thread.start()

    def _read(self, name: str) -> bytes | None:
        try:
            return (self.directory / name).read_bytes()
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            return None

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            self.step()

    def step(self) -> None:
        """One look at the directory (the thread's loop; tests call it directly)."""
        for name in self.file_names:
            now = self._read(name)
            if now == self._seen[name]:
                continue
            try:
                self._apply(name, self._seen[name], now)
            except ClusterUnavailable as exc:
                log.warning("cluster: override file %s changed, the bucket not yet: %s", name, exc)
                continue  # tried again at the next look
            self._seen[name] = now

    def _apply(self, name: str, before: bytes | None, now: bytes | None) -> None:
        key = override_key(self.environment, name)
        current = self._bucket(key)
        if now is None:
            if before is not None and current == before:
                self.conn.call(self.kv.delete(key), 2.0)
                self.deleted += 1
            return
        if current != now:
            self.conn.call(self.kv.put(key, now), 2.0)
            self.published += 1

    def _bucket(self, key: str) -> bytes | None:
        async def get() -> bytes | None:
            try:
                entry = await self.kv.get(key)
            except KeyNotFoundError:  # absent, or deleted
                return None
            return entry.value or None

        return self.conn.call(get(), 2.0)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
