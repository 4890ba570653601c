"""The single order egress point. Every new order passes the kill switch and then the risk gate
here, in that order; nothing else in the process talks to the exchange's submit."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from tradeops.domain import events
from tradeops.domain.errors import Skipped, Temporary, UnknownOutcome
from tradeops.domain.events import DenialReason
from tradeops.domain.trading import Fill, OrderAck, OrderRequest, TradingState
from tradeops.risk.gate import Denial, Exposure, Limits, check_order_deferred
from tradeops.runtime.ports import DecisionSink, Exchange, OrderGate
from tradeops.runtime.stats import Histogram, RuntimeStats


@dataclass(frozen=True, slots=True)
class Routed:
    order: OrderRequest
    ack: OrderAck | None
    denial: Denial | None


class OrderEgress:
    def __init__(
        self,
        exchange: Exchange,
        sink: DecisionSink,
        stats: RuntimeStats,
        gate: OrderGate | None,
        limits: Callable[[OrderRequest], Limits],
        exposure: Callable[[OrderRequest], Exposure],
        states: Callable[[str], tuple[TradingState, TradingState]],
        position: Callable[[OrderRequest], Decimal],
        reduce_allowed_when_killed: Callable[[], bool] = lambda: False,
        on_fills: Callable[[Sequence[Fill]], None] | None = None,
    ) -> None:
        self._exchange = exchange
        self._sink = sink
        self._stats = stats
        self._gate = gate
        self._limits = limits
        self._exposure = exposure
        self._states = states
        self._reduce_allowed_when_killed = reduce_allowed_when_killed
        self._on_fills = on_fills
        # The strategy's signed quantity on the order's instrument (Exposure.position_quantity),
        # so that the exposure is built only for an order the gate checks against it.
        self._position = position
        # Orders whose outcome the venue could not tell, by client order id: their instrument
        # takes no new order until a lookup resolves them (fail closed per symbol).
        self.unresolved: dict[str, OrderRequest] = {}

    def _kill_switch(self, order: OrderRequest) -> Denial | None:
        if self._gate is None:
            return None
        reason = self._gate.allows_new_order(order.strategy)
        if reason is None:
            return None
        if reason is DenialReason.KILL_SWITCH and order.reduce_only and self._reduce_allowed_when_killed():
            return None
        detail = "global override active" if reason is DenialReason.KILL_SWITCH else "strategy disabled"
        return Denial(reason, detail)

    def check(self, order: OrderRequest) -> Denial | None:
        denial = self._kill_switch(order)
        if denial is not None:
            return denial
        if self.unresolved:
            stuck = next(
                (
                    cid
                    for cid, o in self.unresolved.items()
                    if (o.venue, o.symbol) == (order.venue, order.symbol)
                ),
                None,
            )
            if stuck is not None:
                return Denial(DenialReason.OUTCOME_UNKNOWN, f"{stuck} unresolved at {order.venue}")
        strategy_state, global_state = self._states(order.strategy)
        exposure = self._exposure
        return check_order_deferred(
            order,
            self._limits(order),
            self._position(order),
            lambda: exposure(order),
            strategy_state,
            global_state,
        )

    def check_group(self, orders: Sequence[OrderRequest]) -> list[Denial | None]:
        """Each leg's own verdict (nothing recorded or sent)."""
        check = self.check
        return [check(order) for order in orders]

    def submit_group(
        self, orders: Sequence[OrderRequest], denials: Sequence[Denial | None] | None = None
    ) -> list[Routed]:
        """Submit legs that belong together: all pass the checks, or none is sent. `denials`: the
        legs' verdicts from `check_group` just before (not checked again)."""
        if denials is None:
            denials = self.check_group(orders)
        first = next((d for d in denials if d is not None), None)
        routed: list[Routed] = []
        if first is not None:
            for order, denial in zip(orders, denials, strict=True):
                reason = denial or Denial(first.reason, f"sibling leg denied: {first.detail}")
                self._deny(order, reason)
                routed.append(Routed(order, None, reason))
            return routed
        record = self._sink.record
        # One metadata text per order for both of its entries (each entry gets its own dict).
        metadata = [events.order_metadata(order) for order in orders]
        for order, meta in zip(orders, metadata, strict=True):
            record(events.order_accepted(order, dict(meta)))  # the intent, journaled before it leaves
        if self._exchange.requires_durable_intent:
            self._sink.flush()  # write-ahead: a venue outside the process may act on it at once
        strategies = self._stats.strategies
        for order, meta in zip(orders, metadata, strict=True):
            ack = self._send(order)
            if ack is not None:
                record(events.order_submitted(order, ack.order_id, meta))
                strategies[order.strategy].orders += 1
                if self._on_fills is not None:
                    self._on_fills(ack.fills)  # fills that came with the acknowledgement
            routed.append(Routed(order, ack, None))
        return routed

    def _send(self, order: OrderRequest) -> OrderAck | None:
        """Submit, timing the venue; a temporary or rejecting venue error is recorded, not raised."""
        started = time.perf_counter()
        try:
            return self._exchange.submit(order)
        except UnknownOutcome as exc:
            # No outcome is recorded: the intent stays open until the venue says (lookup).
            self.unresolved[order.client_order_id] = order
            self._stats.exchange_errors[(order.venue, "outcome_unknown")] += 1
            self._sink.record(events.order_outcome_unknown(order, str(exc)))
            return None
        except (Temporary, Skipped) as error:  # not `exc`: mypyc keeps the type of a name's first binding
            kind = "temporary" if isinstance(error, Temporary) else "rejected"
            self._stats.exchange_errors[(order.venue, kind)] += 1
            self._sink.record(events.order_failed(order, kind, str(error)))
            return None
        finally:
            latency = self._stats.exchange_latency.get(order.venue)
            if latency is None:
                latency = self._stats.exchange_latency[order.venue] = Histogram()
            latency.observe(time.perf_counter() - started)

    def _deny(self, order: OrderRequest, denial: Denial) -> None:
        self._sink.record(events.order_denied(order, denial.reason, denial.detail))
        self._count(order, denial)

    def _count(self, order: OrderRequest, denial: Denial) -> None:
        self._stats.strategies[order.strategy].denials[denial.reason.value] += 1

    def count_denials(self, orders: Sequence[OrderRequest], denials: Sequence[Denial | None]) -> None:
        """Count legs denied by `check_group` that are not logged one by one (a repeat the engine
        logs as a count), as a logged denial is counted."""
        for order, denial in zip(orders, denials, strict=True):
            if denial is not None:
                self._count(order, denial)
