"""Test fakes for the engine: a scripted strategy and a hand-fed market."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tradeops.domain.market import Bar, Quote
from tradeops.domain.trading import Signal, SignalLeg
from tradeops.strategies.base import Holding


@dataclass
class FakeView:
    now_ms: int = 0
    closes: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def bar_count(self, venue: str, symbol: str) -> int:
        return len(self.closes.get((venue, symbol), []))

    def last(self, venue: str, symbol: str, field: str = "close") -> float:
        return self.closes[(venue, symbol)][-1]

    def history(self, venue: str, symbol: str, field: str, n: int) -> Sequence[float]:
        return self.closes[(venue, symbol)][-n:]

    def feature(self, venue: str, symbol: str, name: str, *params: float) -> float:
        return float("nan")

    def quote(self, venue: str, symbol: str) -> Quote | None:
        return None

    def entry_skip(self, primary: str, secondary: str, symbol: str, entry: float) -> bool:
        return False  # not known: the exact path


class FakeMarket:
    """A market fed bar by bar by the test; implements what engine and scheduler need."""

    def __init__(self, interval_ms: int = 300_000) -> None:
        self._view = FakeView()
        self._interval = interval_ms
        self.pending: list[Bar] = []
        self.last: dict[tuple[str, str], Bar] = {}

    def push(self, bar: Bar) -> None:
        self.pending.append(bar)

    def instruments(self) -> list[tuple[str, str]]:
        return sorted(self.last)

    def last_bar(self, venue: str, symbol: str) -> Bar | None:
        return self.last.get((venue, symbol))

    def advance_to(self, now_ms: int) -> list[Bar]:
        ready = [b for b in self.pending if b.ts + self._interval <= now_ms]
        self.pending = [b for b in self.pending if b not in ready]
        for bar in ready:
            self._view.closes.setdefault((bar.venue, bar.symbol), []).append(bar.close)
            self.last[(bar.venue, bar.symbol)] = bar
        self._view.now_ms = now_ms
        return ready

    def next_reveal_ms(self) -> int | None:
        return min((b.ts + self._interval for b in self.pending), default=None)

    def bar_count(self, venue: str, symbol: str) -> int:
        return self._view.bar_count(venue, symbol)

    def view(self) -> FakeView:
        return self._view

    def interval_ms(self, venue: str, symbol: str) -> int:
        return self._interval


class ScriptedStrategy:
    """Always wants `weight` of its budget in each symbol."""

    def __init__(self, name: str, weight: float = 1.0, venue: str = "binance") -> None:
        self.name = name
        self.weight = weight
        self.venue = venue
        self.calls = 0

    def required_bars(self) -> int:
        return 1

    def decide(
        self,
        view: FakeView,
        venues: Sequence[str],
        symbols: Sequence[str],
        holdings: Mapping[tuple[str, str], Holding],
    ) -> list[Signal]:
        self.calls += 1
        legs = tuple(SignalLeg(self.venue, s, self.weight) for s in symbols)
        return [Signal(self.name, view.now_ms, legs, 0.9, "scripted")]
