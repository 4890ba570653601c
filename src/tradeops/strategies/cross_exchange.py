"""Cross-exchange arbitrage: buy the cheap venue and sell the rich one while quotes are dislocated."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from mypy_extensions import mypyc_attr

from tradeops.config.models import CrossExchangeParams
from tradeops.domain.market import Quote
from tradeops.domain.trading import Signal, SignalLeg
from tradeops.strategies.base import Holding, MarketView

MAX_LEG_WEIGHT = 0.5  # each leg uses at most half of the per-instrument budget


@mypyc_attr(allow_interpreted_subclasses=True)  # a user strategy may extend it
class CrossExchangeStrategy:
    """Reads the best bid/ask of `primary_venue` and `secondary_venue` for each symbol.

    ``long_primary`` spread = (secondary bid - primary ask) / price; ``short_primary`` is the
    mirror. When one reaches `spread_entry` it emits ONE signal with two legs of equal size and
    opposite sign: +w on the cheap venue, -w on the rich one, w = 0.5 x min(1, ratio / (2 x entry)).
    Both legs are closed together (target 0) when the spread of the open direction is back to
    `spread_exit` or less, after `max_open_seconds`, or when only one leg is held. Quotes older
    than `max_quote_age_ms` are ignored (no entry and no spread-based exit on stale prices).
    """

    name: ClassVar[str] = "cross_exchange"

    def __init__(self, params: CrossExchangeParams) -> None:
        self.params = params

    def required_bars(self) -> int:
        return 1

    def decide(
        self,
        view: MarketView,
        venues: Sequence[str],
        symbols: Sequence[str],
        holdings: Mapping[tuple[str, str], Holding],
    ) -> list[Signal]:
        p = self.params
        primary, secondary = p.primary_venue, p.secondary_venue
        now, limit, entry = view.now_ms, p.max_quote_age_ms, p.spread_entry
        quote = view.quote
        get = holdings.get
        skip = view.entry_skip  # a precomputed answer to the flat entry bound, when the view has one
        signals: list[Signal] = []
        for symbol in symbols:
            if holdings:
                first = get((primary, symbol))
                second = get((secondary, symbol))
                if (first is not None and first.quantity != 0) or (
                    second is not None and second.quantity != 0
                ):
                    signal = self._exit(view, symbol, first, second, self._fresh_quotes(view, symbol))
                    if signal is not None:
                        signals.append(signal)
                    continue
            # Flat: the hot path, one precomputed lookup or two cached quote reads and some arithmetic.
            if skip(primary, secondary, symbol, entry):
                continue
            a = quote(primary, symbol)
            if a is None or now - a.ts > limit:
                continue
            b = quote(secondary, symbol)
            if b is None or now - b.ts > limit:
                continue
            a_ask = a.ask
            long_gap, short_gap = b.bid - a_ask, a.bid - b.ask
            # reference >= a_ask, so entry x a_ask bounds entry x reference from below (rounding is
            # monotone): both gaps under it cannot reach the entry threshold. NaN falls through.
            bound = entry * a_ask
            if long_gap < bound and short_gap < bound:
                continue
            reference = max(a.bid, a_ask, b.bid, b.ask)
            if reference > 0 and max(long_gap, short_gap) >= entry * reference:
                signal = self._entry(view, symbol, a, b)
                if signal is not None:
                    signals.append(signal)
        return signals

    def _fresh_quotes(self, view: MarketView, symbol: str) -> tuple[Quote, Quote] | None:
        now = view.now_ms
        limit = self.params.max_quote_age_ms
        first = view.quote(self.params.primary_venue, symbol)
        if first is None or now - first.ts > limit or first.bid <= 0 or first.ask <= 0:
            return None
        second = view.quote(self.params.secondary_venue, symbol)
        if second is None or now - second.ts > limit or second.bid <= 0 or second.ask <= 0:
            return None
        return first, second

    @staticmethod
    def spreads(first: Quote, second: Quote) -> tuple[float, float]:
        """(long_primary, short_primary) spread ratios of two quotes."""
        reference = max(first.bid, first.ask, second.bid, second.ask)
        return (second.bid - first.ask) / reference, (first.bid - second.ask) / reference

    def _entry(self, view: MarketView, symbol: str, first: Quote, second: Quote) -> Signal | None:
        p = self.params
        long_primary, short_primary = self.spreads(first, second)
        ratio = max(long_primary, short_primary)
        if ratio < p.spread_entry:
            return None
        strength = min(1.0, ratio / (2.0 * p.spread_entry))
        weight = MAX_LEG_WEIGHT * strength
        sign = 1.0 if long_primary >= short_primary else -1.0
        direction = "long_primary_short_secondary" if sign > 0 else "short_primary_long_secondary"
        return Signal(
            strategy=self.name,
            ts=view.now_ms,
            legs=(
                SignalLeg(p.primary_venue, symbol, sign * weight),
                SignalLeg(p.secondary_venue, symbol, -sign * weight),
            ),
            confidence=strength,
            reason=f"{direction}: spread {ratio:.5f} >= {p.spread_entry}",
            metadata={
                "action": "enter",
                "direction": direction,
                "spread_ratio": ratio,
                "spread": ratio * max(first.ask, second.ask),
                "primary_exchange": p.primary_venue,
                "secondary_exchange": p.secondary_venue,
                "secondary_delay_ms": float(second.ts - first.ts),
            },
        )

    def _exit(
        self,
        view: MarketView,
        symbol: str,
        first: Holding | None,
        second: Holding | None,
        quotes: tuple[Quote, Quote] | None,
    ) -> Signal | None:
        p = self.params
        legs_held = [h for h in (first, second) if h is not None and h.quantity != 0]
        opened = [h.opened_ts for h in legs_held if h.opened_ts > 0]
        elapsed_s = (view.now_ms - min(opened)) / 1000.0 if opened else 0.0
        metadata: dict[str, float | str] = {"action": "exit", "elapsed_seconds": elapsed_s}
        if len(legs_held) < 2 or (legs_held[0].quantity > 0) == (legs_held[1].quantity > 0):
            reason = "unpaired leg: closing both venues"
        elif elapsed_s >= p.max_open_seconds:
            reason = f"open {elapsed_s:.0f}s >= max {p.max_open_seconds}s"
        elif quotes is not None:
            long_primary, short_primary = self.spreads(*quotes)
            primary_long = first is not None and first.quantity > 0
            ratio = long_primary if primary_long else short_primary
            metadata["exit_spread"] = ratio
            if ratio > p.spread_exit:
                return None
            reason = f"spread converged: {ratio:.5f} <= {p.spread_exit}"
        else:
            return None
        return Signal(
            strategy=self.name,
            ts=view.now_ms,
            legs=(SignalLeg(p.primary_venue, symbol, 0.0), SignalLeg(p.secondary_venue, symbol, 0.0)),
            confidence=1.0,
            reason=reason,
            metadata=metadata,
        )
