"""Adapters a caller hands to `build_runtime` instead of the ones bootstrap would build: tests drive
the real engine and scheduler through `build_runtime(opts, cfg, Adapters(...))` with fakes, rather
than wiring the engine by hand."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tradeops.runtime.ports import DecisionSink, Exchange, OrderGate, SchedulerClock, StateStore
from tradeops.strategies.base import Strategy


@dataclass(frozen=True)
class Adapters:
    """Each one given replaces what bootstrap builds; None keeps bootstrap's."""

    sink: DecisionSink | None = None  # the decision log (with `store`: no account is opened)
    store: StateStore | None = None
    gate: OrderGate | None = None  # the kill switch (RunOptions.kill_switch=False: none at all)
    # The venue egress, built once the clock and the market are known: (clock ms, interval ms) -> it.
    exchange: Callable[[Callable[[], int], Callable[[str, str], int]], Exchange] | None = None
    clock: SchedulerClock | None = None
    strategies: Mapping[str, Strategy] | None = None  # by schedule name
    # A market fed by the caller (it implements runtime.ports MarketSeries and RevealingMarket):
    # nothing is loaded and the run starts at its first bar.
    market: Any = None

    @property
    def injects_log(self) -> bool:
        return self.sink is not None or self.store is not None
