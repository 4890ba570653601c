"""One NATS connection on its own event-loop thread: the synchronous runtime calls into it with
bounded waits, and the connection tracks since when it has been disconnected."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import nats
from nats.js import JetStreamContext

T = TypeVar("T")
CONNECT_TIMEOUT_S = 2.0


class ClusterUnavailable(RuntimeError):
    """NATS did not answer in time (a call on the connection timed out or failed)."""


class NatsConnection:
    def __init__(self, url: str, *, name: str) -> None:
        self.url = url
        self.name = name
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"nats-{name}", daemon=True)
        self._thread.start()
        self._nc: Any = None
        self._js: JetStreamContext | None = None
        self.disconnected_since: float | None = time.monotonic()

    # --- lifecycle -------------------------------------------------------------------------------

    def connect(self, timeout: float = CONNECT_TIMEOUT_S) -> None:
        self.call(self._connect(timeout), timeout + 1.0)

    async def _connect(self, timeout: float) -> None:
        async def down() -> None:
            if self.disconnected_since is None:
                self.disconnected_since = time.monotonic()

        async def up() -> None:
            self.disconnected_since = None

        self._nc = await nats.connect(
            self.url,
            name=self.name,
            connect_timeout=timeout,
            reconnect_time_wait=0.2,
            max_reconnect_attempts=-1,
            ping_interval=1,
            max_outstanding_pings=2,
            disconnected_cb=down,
            reconnected_cb=up,
            allow_reconnect=True,
        )
        self._js = self._nc.jetstream(timeout=timeout)
        self.disconnected_since = None

    def close(self) -> None:
        if self._loop.is_closed():
            return  # closed before
        if self._nc is not None:
            with contextlib.suppress(ClusterUnavailable):
                self.call(self._nc.close(), 2.0)
        with contextlib.suppress(ClusterUnavailable):
            self.call(self._cancel_tasks(), 2.0)
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=2.0)
        if not self._thread.is_alive() and not self._loop.is_closed():
            self._loop.close()  # its selector and self-pipe sockets go with it

    async def _cancel_tasks(self) -> None:
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- calls -----------------------------------------------------------------------------------

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise ClusterUnavailable(f"not connected to NATS at {self.url}")
        return self._js

    def disconnected_for(self) -> float:
        since = self.disconnected_since
        return 0.0 if since is None else time.monotonic() - since

    def call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run `coro` on the connection's loop; at most `timeout` seconds."""
        future = asyncio.run_coroutine_threadsafe(asyncio.wait_for(coro, timeout), self._loop)
        try:
            return future.result(timeout + 0.5)
        except Exception as exc:
            future.cancel()
            raise ClusterUnavailable(f"NATS {self.url}: {type(exc).__name__}: {exc}") from exc

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop)
