"""The simulator's market: candle paths per symbol played forward one bar per step, exchange
filters derived from each symbol's price, and the `stale` switch that freezes it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from tradeops.domain.money import to_decimal
from tradeops.domain.trading import Side
from tradeops.exchanges.paper.matching import BarView
from tradeops.exchanges.sim.errors import SimError, invalid_symbol

KLINE_LIMIT_MAX = 1000


class Candles(Protocol):
    """What the market needs of a candle series (marketdata's CandleSeries has it)."""

    @property
    def symbol(self) -> str: ...

    @property
    def interval(self) -> str: ...

    @property
    def interval_ms(self) -> int: ...

    @property
    def open(self) -> Any: ...

    @property
    def high(self) -> Any: ...

    @property
    def low(self) -> Any: ...

    @property
    def close(self) -> Any: ...

    @property
    def volume(self) -> Any: ...

    def __len__(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Filters:
    tick: Decimal
    step: Decimal
    min_qty: Decimal
    min_notional: Decimal

    @classmethod
    def for_price(cls, price: float, min_notional: Decimal) -> Filters:
        """Binance-like precision: about 6 significant digits of price, steps worth ~0.1-1 quote."""
        magnitude = math.floor(math.log10(max(price, 1e-8)))
        tick = Decimal(1).scaleb(max(magnitude - 6, -8))
        step = Decimal(1).scaleb(-max(magnitude + 1, 0))
        return cls(tick=tick, step=step, min_qty=step, min_notional=min_notional)


@dataclass
class SymbolMarket:
    symbol: str  # "BTC/USDT"
    base: str
    quote: str
    interval: str
    interval_ms: int
    rows: list[tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]]
    filters: Filters

    @property
    def market_id(self) -> str:
        return f"{self.base}{self.quote}"


@dataclass
class SimMarket:
    symbols: dict[str, SymbolMarket]  # by market id (BTCUSDT)
    cursor: int  # index of the bar in progress (shared by every symbol)
    stale: bool = False
    pushed: int = 0
    _length: int = field(default=0)

    @classmethod
    def from_series(
        cls, series: Sequence[Candles], start_ms: int, history: int, min_notional: Decimal
    ) -> SimMarket:
        if not series:
            raise ValueError("the simulator needs at least one candle series")
        length = min(len(s) for s in series)
        history = max(0, min(history, length - 1))
        symbols: dict[str, SymbolMarket] = {}
        for s in series:
            base, _, rest = s.symbol.partition("/")
            quote = rest.split(":")[0]
            step = s.interval_ms
            # Rebase time: the bar in progress at start opens at `start_ms` (aligned to the interval).
            first = (start_ms // step) * step - history * step
            filters = Filters.for_price(float(s.close[history]), min_notional)

            def on_tick(value: float, tick: Decimal = filters.tick) -> Decimal:
                return max(tick, to_decimal(value).quantize(tick))

            rows = [
                (
                    first + i * step,
                    on_tick(float(s.open[i])),
                    on_tick(float(s.high[i])),
                    on_tick(float(s.low[i])),
                    on_tick(float(s.close[i])),
                    to_decimal(float(s.volume[i])).quantize(Decimal("0.00000001")),
                )
                for i in range(length)
            ]
            market = SymbolMarket(s.symbol, base, quote, s.interval, step, rows, filters)
            symbols[market.market_id] = market
        return cls(symbols=symbols, cursor=history, _length=length)

    def get(self, market_id: str | None) -> SymbolMarket:
        if not market_id or market_id not in self.symbols:
            raise invalid_symbol()
        return self.symbols[market_id]

    def advance(self) -> bool:
        """Move to the next bar (False when stale or at the end of the data)."""
        if self.stale or self.cursor + 1 >= self._length:
            return False
        self.cursor += 1
        return True

    def push_bar(self, market_id: str, o: Decimal, h: Decimal, low: Decimal, c: Decimal, v: Decimal) -> None:
        """Scripted market (tests, drills): the next bar of every symbol; `market_id` gets these
        prices, the others repeat their last close with no volume. The bar is inserted into the
        tape, whose later bars move one interval on, so `advance` still has data after it."""
        target = self.get(market_id)
        at = self.cursor + 1
        for market in self.symbols.values():
            step = market.interval_ms
            ts = market.rows[self.cursor][0] + step
            last = market.rows[self.cursor][4]
            row = (ts, o, h, low, c, v) if market is target else (ts, last, last, last, last, Decimal(0))
            later = [(t + step, op, hi, lo, cl, vol) for t, op, hi, lo, cl, vol in market.rows[at:]]
            market.rows[at:] = [row, *later]
        self._length = min(len(m.rows) for m in self.symbols.values())
        self.cursor += 1
        self.pushed += 1

    def bar(self, market_id: str) -> BarView:
        row = self.get(market_id).rows[self.cursor]
        return BarView(open=row[1], high=row[2], low=row[3], volume=row[5])

    def last(self, market_id: str) -> Decimal:
        return self.get(market_id).rows[self.cursor][4]

    def touch(self, market_id: str) -> tuple[Decimal, Decimal]:
        """Best bid and ask: one tick either side of the last price."""
        last, tick = self.last(market_id), self.get(market_id).filters.tick
        return max(last - tick, tick), last + tick

    def arrival_view(self, market_id: str, side: Side) -> BarView:
        """The market as an arriving order meets it: the touch on its side, this bar's volume."""
        bid, ask = self.touch(market_id)
        price = ask if side is Side.BUY else bid
        return BarView(open=price, high=price, low=price, volume=self.get(market_id).rows[self.cursor][5])

    def klines(
        self, market_id: str, interval: str, limit: int, start: int | None, end: int | None
    ) -> list[list[object]]:
        market = self.get(market_id)
        if interval != market.interval:
            raise SimError(400, -1120, f"Invalid interval; this simulator serves {market.interval}.")
        rows = market.rows[: self.cursor + 1]
        if start is not None:
            rows = [r for r in rows if r[0] >= start]
        if end is not None:
            rows = [r for r in rows if r[0] <= end]
        rows = rows[:limit] if start is not None else rows[-limit:]
        step = market.interval_ms
        return [
            [
                r[0],
                str(r[1]),
                str(r[2]),
                str(r[3]),
                str(r[4]),
                str(r[5]),
                r[0] + step - 1,
                str(r[5] * r[4]),
                1,
                "0",
                "0",
                "0",
            ]
            for r in rows
        ]
