"""The Strategy protocol and the read-only market view strategies see."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol

from tradeops.domain.market import Quote
from tradeops.domain.trading import Signal


class Holding(NamedTuple):
    """What the strategy holds on one instrument, as the runtime sees it. A NamedTuple: immutable
    and cheap to build (the engine makes one per open position before each cycle)."""

    venue: str
    symbol: str
    weight: float  # signed exposure / strategy budget (1.0 = whole budget long)
    quantity: float
    avg_price: float
    opened_ts: int
    bars_held: int


class MarketView(Protocol):
    """Causal access to history: nothing after `now_ms` is visible.

    ``feature`` returns a cached indicator at the current bar (NaN while history is too short).
    Features are computed once over the whole known series and read by index, so a lookup is O(1).
    """

    @property
    def now_ms(self) -> int: ...

    def bar_count(self, venue: str, symbol: str) -> int: ...

    def last(self, venue: str, symbol: str, field: str = "close") -> float: ...

    def history(self, venue: str, symbol: str, field: str, n: int) -> Sequence[float]: ...

    def feature(self, venue: str, symbol: str, name: str, *params: float) -> float: ...

    def quote(self, venue: str, symbol: str) -> Quote | None: ...

    def entry_skip(self, primary: str, secondary: str, symbol: str, entry: float) -> bool:
        """True when cross_exchange's flat entry test on `symbol` (both quote gaps below `entry` x
        the primary's ask) surely fails; False when not known (the strategy then reads the quotes)."""
        ...


class Strategy(Protocol):
    """A strategy is pure: same view and holdings in, same signals out. No I/O, no clock."""

    name: str

    def required_bars(self) -> int:
        """Bars of history needed before the first signal (the schedule's warmup must cover it)."""
        ...

    def decide(
        self,
        view: MarketView,
        venues: Sequence[str],
        symbols: Sequence[str],
        holdings: Mapping[tuple[str, str], Holding],
    ) -> list[Signal]: ...
