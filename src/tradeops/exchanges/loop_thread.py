"""One coroutine on its own event loop in a daemon thread: the background of the venue streams.

The loop and the task are made before the thread starts, so `stop()` can always cancel the task,
however early it is called; a loop already closed (the coroutine ended by itself) is left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any


class LoopThread:
    """Runs `main()` in a daemon thread named `name`; `stop()` cancels it and joins the thread."""

    def __init__(self, name: str, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self.name = name
        self._main = main
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None:
            return
        loop = asyncio.new_event_loop()
        task = loop.create_task(self._main())
        self._loop, self._task = loop, task
        self._thread = threading.Thread(target=_run, args=(loop, task), name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        loop, task, thread = self._loop, self._task, self._thread
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: the coroutine ended
                loop.call_soon_threadsafe(task.cancel)
        if thread is not None:
            thread.join(timeout)
        self._thread = self._loop = self._task = None


def _run(loop: asyncio.AbstractEventLoop, task: asyncio.Task[None]) -> None:
    try:
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(task)
    finally:
        loop.close()
