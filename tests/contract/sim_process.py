"""The exchange simulator as a real subprocess on a free 127.0.0.1 port (bounded waits)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tradeops.bootstrap.exchange_sim import SimulatorProcess as SimProcess

__all__ = ["MARKET_SYMBOLS", "SimProcess", "module_sim", "wait_until"]

MARKET_SYMBOLS = ("BTC/USDT", "ETH/USDT")  # the market-stream modules' simulator (1m candles)


@contextmanager
def module_sim(*args: str) -> Iterator[SimProcess]:
    """A simulator of a module's own (faults or scripted bars the shared one must not inherit)."""
    process = SimProcess(*args)
    try:
        yield process
    finally:
        process.stop()


def wait_until(condition: Callable[[], bool], what: str, deadline_s: float) -> None:
    """Poll `condition` every 50 ms; fail naming `what` if it does not hold within `deadline_s`."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
