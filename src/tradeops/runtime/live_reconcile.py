"""The reconcile loop of a live account: at start and every `reconcile_interval` compare local open
orders and balances with the venues (runtime/venue_reconcile.py) and fail closed on a difference.

A difference puts the strategies it belongs to (or the account) in REDUCING with reason
`reconcile_diff`; a later clean comparison lifts exactly those restrictions. Nothing here books a
fill or changes a book: fills come only from the venue (by trade id), unknown venue orders are
adopted or cancelled only by an operator's signed command. Orders whose outcome was unknown are
resolved here by client order id lookup, never resent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, Protocol

from tradeops.domain import events
from tradeops.domain.errors import TradeopsError
from tradeops.domain.trading import TradingState
from tradeops.runtime.engine import TradingEngine
from tradeops.runtime.venue_reconcile import ACCOUNT, REASON, OrderView, ReconcileReport, reconcile

log = logging.getLogger(__name__)
RESOLVE_AFTER_MS = 70_000  # past any recvWindow (at most 60 s): "not found" is then final


class ReconcilableVenues(Protocol):
    def poll(self) -> list[Any]: ...

    def resolve(self, row: Mapping[str, Any]) -> str | None: ...

    def local_open_orders(self) -> list[OrderView]: ...

    def venue_open_orders(self) -> list[OrderView]: ...

    def venue_balances(self) -> dict[tuple[str, str], Decimal]: ...


def strategy_of(strategies: Iterable[str]) -> Callable[[str], str | None]:
    """Our client order ids start with the schedule name: `<strategy>-<ts>-<n>`."""
    names = sorted(strategies, key=len, reverse=True)

    def owner(client_order_id: str) -> str | None:
        return next((n for n in names if client_order_id.startswith(f"{n}-")), None)

    return owner


class ReconcileLoop:
    def __init__(
        self,
        engine: TradingEngine,
        venues: ReconcilableVenues,
        expected_balances: Callable[[], dict[tuple[str, str], Decimal]],
        interval_ms: int,
        tolerance: Mapping[str, Decimal] | None = None,
        adopted: Callable[[], frozenset[str]] = frozenset,
    ) -> None:
        self.engine = engine
        self.adopted = adopted  # client order ids of venue orders an operator adopted (signed)
        self.venues = venues
        self.expected_balances = expected_balances
        self.interval_ms = interval_ms
        self.tolerance = tolerance
        self.last_ms: int | None = None
        self.last: ReconcileReport | None = None
        self._restricted: set[str] = set()  # scopes this loop put in REDUCING

    def due(self, now_ms: int) -> bool:
        return self.last_ms is None or now_ms - self.last_ms >= self.interval_ms

    def maybe_run(self, now_ms: int) -> ReconcileReport | None:
        return self.run(now_ms) if self.due(now_ms) else None

    def run(self, now_ms: int) -> ReconcileReport | None:
        self.last_ms = now_ms
        engine = self.engine
        try:
            self._resolve_unknown(now_ms)
            engine.book_fills(self.venues.poll())  # what filled so far is booked before comparing
            adopted = self.adopted()
            report = reconcile(
                self.venues.local_open_orders(),
                [o for o in self.venues.venue_open_orders() if o.client_order_id not in adopted],
                self.expected_balances(),
                self.venues.venue_balances(),
                strategy_of=strategy_of(engine.slots),
                tolerance=self.tolerance,
            )
        except TradeopsError as exc:
            # Cannot compare: the account cannot be known to agree, so it reduces (fail closed).
            log.warning("reconcile: %s", exc)
            engine.stats.exchange_errors[("*", "reconcile")] += 1
            self._apply(
                now_ms, ReconcileReport((), frozenset({ACCOUNT})), f"{REASON}: venue unreachable: {exc}"
            )
            return None
        self.last = report
        engine.stats.reconcile_runs += 1
        engine.stats.reconcile_diffs = len(report.diffs)
        detail = "; ".join(
            f"{d.kind.value} {d.key} local={d.local} venue={d.venue}" for d in report.diffs[:5]
        )
        engine.sink.record(events.reconciled(now_ms, len(report.diffs), sorted(report.reducing), detail))
        self._apply(now_ms, report, f"{REASON}: {detail}" if detail else REASON)
        return report

    def _apply(self, now_ms: int, report: ReconcileReport, reason: str) -> None:
        engine = self.engine
        engine._now_ms = max(engine._now_ms, now_ms)
        wanted = {
            "global" if s == ACCOUNT else s for s in report.reducing if s == ACCOUNT or s in engine.slots
        }
        for scope in sorted(wanted - self._restricted):
            current = engine.global_state if scope == "global" else engine.strategy_states[scope]
            if current is TradingState.ACTIVE:
                engine.set_state(scope, TradingState.REDUCING, reason)
                self._restricted.add(scope)
        for scope in sorted(self._restricted - wanted):
            engine.set_state(scope, TradingState.ACTIVE, "reconcile clean")
            self._restricted.discard(scope)

    def _resolve_unknown(self, now_ms: int) -> None:
        """Orders the venue could not account for at the time: ask by client order id now."""
        unresolved = self.engine.egress.unresolved
        for cid, order in list(unresolved.items()):
            row = {
                "client_order_id": cid,
                "strategy": order.strategy,
                "venue": order.venue,
                "symbol": order.symbol,
                "side": order.side.value,
                "quantity": order.quantity,
                "ts": order.ts,
                "order_type": order.order_type.value,
                "limit_price": order.limit_price,
                "reduce_only": order.reduce_only,
            }
            order_id = self.venues.resolve(row)
            if order_id is not None:
                self.engine.sink.record(events.order_submitted(order, order_id))
                del unresolved[cid]
            elif now_ms - order.ts >= RESOLVE_AFTER_MS:
                detail = "outcome was unknown; past its recvWindow the venue does not hold it; not resent"
                self.engine.sink.record(
                    events.order_abandoned(now_ms, cid, order.strategy, order.venue, detail)
                )
                del unresolved[cid]
