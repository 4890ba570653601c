"""Fault injection for drills and tests: wrap any Exchange and make it fail or lag on purpose."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from tradeops.domain.errors import UserInputError
from tradeops.domain.market import Bar, Quote
from tradeops.domain.trading import Fill, InstrumentLimits, OrderAck, OrderRequest
from tradeops.exchanges.errors import ExchangeTemporary
from tradeops.runtime.ports import Exchange


@dataclass(frozen=True)
class FaultSpec:
    error_rate: float = 0.0  # share of submits that raise ExchangeTemporary
    latency_ms: float = 0.0  # added to every submit
    drop_fills: bool = False  # orders are accepted but never fill

    @classmethod
    def parse(cls, text: str) -> FaultSpec:
        """`errors=0.5,latency_ms=2500,drop_fills=1` (the --inject-faults flag)."""
        values: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, raw = part.partition("=")
            if not sep or key not in ("errors", "latency_ms", "drop_fills"):
                raise UserInputError(f"--inject-faults {text!r}: use errors=R,latency_ms=MS,drop_fills=0|1")
            try:
                values[key] = float(raw)
            except ValueError:
                raise UserInputError(f"--inject-faults: {key} needs a number, got {raw!r}") from None
        rate = values.get("errors", 0.0)
        if not 0.0 <= rate <= 1.0:
            raise UserInputError("--inject-faults: errors must be between 0 and 1")
        return cls(rate, values.get("latency_ms", 0.0), bool(values.get("drop_fills", 0.0)))


class FaultyExchange:
    def __init__(self, inner: Exchange, spec: FaultSpec, seed: int = 0) -> None:
        self._inner = inner
        self.spec = spec
        self._rng = random.Random(seed)

    @property
    def requires_durable_intent(self) -> bool:
        return self._inner.requires_durable_intent

    def drain_closed(self) -> Sequence[OrderRequest]:
        return self._inner.drain_closed()

    def lookup(self, client_order_id: str) -> str | None:
        lookup = getattr(self._inner, "lookup", None)
        return None if lookup is None else lookup(client_order_id)

    def instrument_limits(self, venue: str, symbol: str) -> InstrumentLimits | None:
        return self._inner.instrument_limits(venue, symbol)

    def submit(self, order: OrderRequest) -> OrderAck:
        if self.spec.latency_ms:
            time.sleep(self.spec.latency_ms / 1000)
        if self._rng.random() < self.spec.error_rate:
            raise ExchangeTemporary(f"{order.venue}: injected fault")
        return self._inner.submit(order)

    def cancel(self, order_id: str) -> bool:
        return self._inner.cancel(order_id)

    def cancel_all(self, strategy: str | None = None) -> int:
        return self._inner.cancel_all(strategy)

    def open_order_ids(self) -> Sequence[str]:
        return self._inner.open_order_ids()

    def open_quantity(self, strategy: str, venue: str, symbol: str) -> Decimal:
        return self._inner.open_quantity(strategy, venue, symbol)

    def on_market(self, bars: Iterable[Bar], quotes: Iterable[Quote]) -> Sequence[Fill]:
        fills = self._inner.on_market(bars, quotes)
        return [] if self.spec.drop_fills else fills
