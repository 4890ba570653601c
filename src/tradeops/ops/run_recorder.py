"""Record what a run's books looked like at every scheduler step, for the run report.

Attached to the scheduler's `on_step` hook (nothing in the engine changes): once per bar interval
(of the finest instrument) it samples the account equity and, per strategy, its PnL since the start
(realized + unrealized - fees) and whether it held a position; after every step with a new fill it
looks at the positions: every fill that reduced or closed one realized PnL, and is a trade (gross
of fees) for win rate and profit factor, so a rebalancing strategy that is never flat has trades
too. The curves are bounded: past `max_points` samples every other one is dropped and the spacing
doubles, so a long backtest keeps an evenly thinned curve.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tradeops.runtime.engine import TradingEngine

MAX_POINTS = 20_000
ZERO = Decimal(0)


@dataclass
class Trade:
    strategy: str
    venue: str
    symbol: str
    opened_ms: int
    closed_ms: int
    pnl: float  # gross of fees (fees are reported per strategy)

    def to_json(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "venue": self.venue,
            "symbol": self.symbol,
            "opened_ms": self.opened_ms,
            "closed_ms": self.closed_ms,
            "pnl": round(self.pnl, 8),
        }


@dataclass
class RunRecorder:
    engine: TradingEngine
    max_points: int = MAX_POINTS
    times: list[int] = field(default_factory=list)
    equity: list[float] = field(default_factory=list)
    pnl: dict[str, list[float]] = field(default_factory=dict)
    exposed: dict[str, list[bool]] = field(default_factory=dict)
    trades: list[Trade] = field(default_factory=list)
    steps: int = 0
    stride: int = 1
    _open: dict[tuple[str, str, str], int] = field(default_factory=dict)  # open since (market ms)
    _realized: dict[tuple[str, str, str], Decimal] = field(default_factory=dict)  # as last seen
    _fills: int = 0
    _interval_ms: int | None = None
    _pending: int | None = None

    def attach(self, scheduler: Any) -> None:
        """Chain onto the scheduler's `on_step` (a progress bar may already listen)."""
        previous: Callable[[int, Any], None] | None = scheduler.on_step
        for key, position in self.engine.portfolio.positions.items():  # a resumed account's books
            self._realized[key] = position.realized_pnl
            if position.quantity != 0:
                self._open[key] = position.opened_ts
        self._fills = sum(s.fills for s in self.engine.stats.strategies.values())

        def on_step(now_ms: int, report: Any) -> None:
            self.on_step(now_ms)
            if previous is not None:
                previous(now_ms, report)

        scheduler.on_step = on_step

    def on_step(self, now_ms: int) -> None:
        self.steps += 1
        fills = sum(s.fills for s in self.engine.stats.strategies.values())
        if fills != self._fills:  # positions change only on fills
            self._fills = fills
            self._follow_positions(now_ms)
        if self.times and now_ms - self.times[-1] < self._spacing_ms():
            self._pending = now_ms
            return
        self._sample(now_ms)

    def _spacing_ms(self) -> int:
        """One sample per bar interval (of the finest instrument), times the thinning stride."""
        if self._interval_ms is None:
            series = self.engine.series
            instruments = series.instruments()
            self._interval_ms = min((series.interval_ms(*i) for i in instruments), default=1)
        return self._interval_ms * self.stride

    def finish(self) -> None:
        """Take the last step's sample if the spacing skipped it (the curve ends where the run ended)."""
        if self._pending is not None and (not self.times or self._pending > self.times[-1]):
            self._sample(self._pending)
        self._pending = None

    def _sample(self, now_ms: int) -> None:
        self._pending = None
        book = self.engine.portfolio
        self.times.append(now_ms)
        self.equity.append(float(book.equity()))
        for name in self.engine.stats.strategies:
            self.pnl.setdefault(name, []).append(float(book.strategy_pnl(name)))
            self.exposed.setdefault(name, []).append(book.strategy_exposure(name) > 0)
        if len(self.times) > self.max_points:
            self._thin()

    def _thin(self) -> None:
        self.stride *= 2
        self.times, self.equity = self.times[::2], self.equity[::2]
        self.pnl = {k: v[::2] for k, v in self.pnl.items()}
        self.exposed = {k: v[::2] for k, v in self.exposed.items()}

    def _follow_positions(self, now_ms: int) -> None:
        for key, position in list(self.engine.portfolio.positions.items()):
            strategy, venue, symbol = key
            before = self._realized.get(key, ZERO)
            if position.realized_pnl != before:  # a fill reduced or closed it: PnL realized
                pnl = float(position.realized_pnl - before)
                since = self._open.get(key, now_ms)
                self.trades.append(Trade(strategy, venue, symbol, since, now_ms, pnl))
                self._realized[key] = position.realized_pnl
            if position.quantity != 0:
                self._open.setdefault(key, now_ms)
            else:
                self._open.pop(key, None)

    def open_trades(self, strategy: str) -> int:
        """Positions of `strategy` still open at the end (round trips not closed)."""
        return sum(1 for key in self._open if key[0] == strategy)

    def curves(self) -> dict[str, Any]:
        """The recorded curves as JSON (what `tradeops report run` plots)."""
        self.finish()
        return {
            "schema": "tradeops.run_curves/1",
            "spacing_ms": self._spacing_ms(),
            "t_ms": self.times,
            "equity": [round(v, 6) for v in self.equity],
            "strategy_pnl": {k: [round(x, 6) for x in v] for k, v in self.pnl.items()},
            "strategy_exposed": {k: [int(x) for x in v] for k, v in self.exposed.items()},
            "trades": [t.to_json() for t in self.trades],
        }
