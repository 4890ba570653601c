"""The exchange simulator as a real subprocess on a free 127.0.0.1 port (bounded waits)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tradeops.bootstrap.exchange_sim import SimulatorProcess as SimProcess

__all__ = ["MARKET_SYMBOLS", "SimProcess", "module_sim"]

MARKET_SYMBOLS = ("BTC/USDT", "ETH/USDT")  # the market-stream modules' simulator (1m candles)


@contextmanager
def module_sim(*args: str) -> Iterator[SimProcess]:
    """A simulator of a module's own (faults or scripted bars the shared one must not inherit)."""
    process = SimProcess(*args)
    try:
        yield process
    finally:
        process.stop()
