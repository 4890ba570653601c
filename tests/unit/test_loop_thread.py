"""The venue streams' background loop: stop() cancels the coroutine wherever it is, even before it
first ran, and is harmless once it has ended by itself."""

from __future__ import annotations

import asyncio
import threading

from tradeops.exchanges.loop_thread import LoopThread


def test_stop_cancels_a_coroutine_that_would_run_forever() -> None:
    started, cancelled = threading.Event(), threading.Event()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    runner = LoopThread("test-forever", forever)
    runner.start()
    assert started.wait(10)
    runner.stop(10)
    assert cancelled.is_set()
    assert not runner.running


def test_stop_right_after_start_still_ends_the_thread() -> None:
    async def forever() -> None:
        await asyncio.Event().wait()

    runner = LoopThread("test-early", forever)
    runner.start()
    thread = runner._thread
    runner.stop(10)
    assert thread is not None and not thread.is_alive()


def test_stop_after_the_coroutine_ended_is_harmless_and_start_runs_it_again() -> None:
    runs: list[int] = []

    async def once() -> None:
        runs.append(1)

    runner = LoopThread("test-once", once)
    runner.start()
    thread = runner._thread
    assert thread is not None
    thread.join(10)
    runner.stop(10)
    runner.start()
    again = runner._thread
    assert again is not None and again is not thread
    again.join(10)
    runner.stop(10)
    assert runs == [1, 1]
