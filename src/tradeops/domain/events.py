"""Events are past-tense facts. Each becomes one decision-log record through the DecisionSink port."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from tradeops.domain.money import decimal_str
from tradeops.domain.trading import Fill, OrderRequest, Signal, TradingState

JsonScalar = str | int | float | bool | None
JsonValue = JsonScalar | list["JsonValue"] | dict[str, "JsonValue"]


class DenialReason(StrEnum):
    """Why the risk gate refused an order. Stable codes: metrics and alerts use them as labels."""

    KILL_SWITCH = "kill_switch"
    STRATEGY_DISABLED = "strategy_disabled"
    TRADING_HALTED = "trading_halted"
    REDUCING_ONLY = "reducing_only"
    ALLOCATION_BUDGET = "allocation_budget"
    MAX_POSITION = "max_position"
    MAX_OPEN_POSITIONS = "max_open_positions"
    DAILY_LOSS = "daily_loss"
    HARD_DRAWDOWN = "hard_drawdown"
    MAX_LEVERAGE = "max_leverage"
    MIN_QUANTITY = "min_quantity"
    MIN_NOTIONAL = "min_notional"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    MAX_ORDER_NOTIONAL = "max_order_notional"  # a live environment's per-order cap
    OUTCOME_UNKNOWN = "outcome_unknown"  # an earlier order on the instrument is unresolved at the venue


@dataclass(frozen=True, slots=True, init=False)
class DecisionRecord:
    """One auditable fact. `stage` defaults to the environment when written by the runtime."""

    kind: str
    status: str
    ts: int
    artefacts: Mapping[str, JsonScalar] = field(default_factory=dict)
    metadata: Mapping[str, JsonValue] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    stage: str | None = None

    def __init__(
        self,
        kind: str,
        status: str,
        ts: int,
        artefacts: Mapping[str, JsonScalar] | None = None,
        metadata: Mapping[str, JsonValue] | None = None,
        tags: tuple[str, ...] = (),
        stage: str | None = None,
    ) -> None:
        # The generated frozen __init__ goes through object.__setattr__ per field (a record per
        # log entry: the hot path); the slots' own setters are the same assignment, cheaper.
        kind_, status_, ts_, artefacts_, metadata_, tags_, stage_ = _RECORD_SLOTS
        kind_(self, kind)
        status_(self, status)
        ts_(self, ts)
        artefacts_(self, {} if artefacts is None else artefacts)
        metadata_(self, {} if metadata is None else metadata)
        tags_(self, tags)
        stage_(self, stage)


_RECORD_SLOTS = tuple(
    getattr(DecisionRecord, name).__set__
    for name in ("kind", "status", "ts", "artefacts", "metadata", "tags", "stage")
)


def signal_emitted(signal: Signal, risk_profile: str, bucket: str) -> DecisionRecord:
    return DecisionRecord(
        kind="signal",
        status="emitted",
        ts=signal.ts,
        artefacts={"strategy": signal.strategy, "symbol": signal.symbol},
        metadata={
            "confidence": round(signal.confidence, 6),
            "reason": signal.reason,
            "risk_profile": risk_profile,
            "risk_budget_bucket": bucket,
            "legs": [
                {"venue": leg.venue, "symbol": leg.symbol, "target_weight": round(leg.target_weight, 6)}
                for leg in signal.legs
            ],
        },
    )


def _order_artefacts(order: OrderRequest) -> dict[str, JsonScalar]:
    return {
        "client_order_id": order.client_order_id,
        "strategy": order.strategy,
        "venue": order.venue,
        "symbol": order.symbol,
    }


def order_metadata(order: OrderRequest) -> dict[str, JsonValue]:
    """The order's metadata in its entries (a caller writing several entries of one order may
    compute it once and give each entry a copy)."""
    metadata: dict[str, JsonValue] = {
        "side": order.side._value_,
        "quantity": decimal_str(order.quantity),
        "reference_price": decimal_str(order.reference_price),
        "reduce_only": order.reduce_only,
        "order_type": order.order_type._value_,
    }
    if order.limit_price is not None:
        metadata["limit_price"] = decimal_str(order.limit_price)
    return metadata


def order_accepted(order: OrderRequest, metadata: dict[str, JsonValue] | None = None) -> DecisionRecord:
    """The gate let the order through; `metadata`: `order_metadata(order)`, already computed."""
    return DecisionRecord(
        "risk_decision",
        "accepted",
        order.ts,
        _order_artefacts(order),
        order_metadata(order) if metadata is None else metadata,
    )


def order_denied(order: OrderRequest, reason: DenialReason, detail: str) -> DecisionRecord:
    metadata = order_metadata(order)
    metadata["reason"] = reason._value_
    metadata["detail"] = detail
    return DecisionRecord("risk_decision", "denied", order.ts, _order_artefacts(order), metadata)


def denials_repeated(
    ts: int,
    strategy: str,
    legs: list[JsonValue],
    reason: DenialReason,
    detail: str,
    count: int,
    first_ms: int,
    last_ms: int,
) -> DecisionRecord:
    """`count` more requests of `strategy` for the same orders (`legs`: venue, symbol, side) were
    denied for the same state reason as the first, logged in full before them."""
    return DecisionRecord(
        "risk_decision",
        "repeated",
        ts,
        {"strategy": strategy},
        {
            "legs": legs,
            "reason": reason._value_,
            "detail": detail,
            "count": count,
            "first_ts_ms": first_ms,
            "last_ts_ms": last_ms,
        },
    )


def order_submitted(
    order: OrderRequest, order_id: str, metadata: dict[str, JsonValue] | None = None
) -> DecisionRecord:
    """The venue acknowledged the order under `order_id` (its own id); `metadata` as in
    `order_accepted`."""
    artefacts = _order_artefacts(order)
    artefacts["order_id"] = order_id
    return DecisionRecord(
        "order", "submitted", order.ts, artefacts, order_metadata(order) if metadata is None else metadata
    )


def order_abandoned(ts: int, client_order_id: str, strategy: str, venue: str, detail: str) -> DecisionRecord:
    """An intent found without an outcome after a restart, and not on the venue: closed, not resent."""
    artefacts: dict[str, JsonScalar] = {
        "client_order_id": client_order_id,
        "strategy": strategy,
        "venue": venue,
    }
    return DecisionRecord("order", "abandoned", ts, artefacts, {"detail": detail})


def order_closed(ts: int, order: OrderRequest, detail: str) -> DecisionRecord:
    """The venue closed one order before it filled in full (expired, cancelled, rounded to the step)."""
    artefacts: dict[str, JsonScalar] = {
        "client_order_id": order.client_order_id,
        "strategy": order.strategy,
        "venue": order.venue,
        "symbol": order.symbol,
    }
    return DecisionRecord("order", "cancelled", ts, artefacts, {"detail": detail})


def orders_cancelled(ts: int, strategy: str | None, count: int, reason: str) -> DecisionRecord:
    """Every open order of `strategy` (None: of every strategy) was cancelled at the venue."""
    return DecisionRecord(
        "order", "cancelled_all", ts, {"strategy": strategy or "*"}, {"count": count, "reason": reason}
    )


def balances_set(ts: int, balances: Mapping[str, str], reason: str) -> DecisionRecord:
    """The account's balances were set (the opening balance of a new account)."""
    return DecisionRecord("balance", "set", ts, {}, {"balances": dict(balances), "reason": reason})


def checkpoint(ts: int, cursor: Mapping[str, int], peak_equity: str) -> DecisionRecord:
    """Periodic replay cursor: the last bar processed per series (never one entry per bar)."""
    return DecisionRecord(
        "checkpoint", "cursor", ts, {}, {"cursor": dict(cursor), "peak_equity": peak_equity}
    )


def run_changed(
    ts: int, status: str, run_id: str, run_kind: str, market: Mapping[str, JsonScalar]
) -> DecisionRecord:
    """A run started, resumed or stopped (run id and kind, and what market it replays)."""
    return DecisionRecord(
        "run", status, ts, {"run_id": run_id, "run_kind": run_kind}, {"market": dict(market)}
    )


def state_replayed(ts: int, from_seq: int, to_seq: int) -> DecisionRecord:
    """On start, the store was behind the log and the tail was projected into it."""
    return DecisionRecord("state", "replayed", ts, {}, {"from_seq": from_seq, "to_seq": to_seq})


def reconciled(ts: int, diffs: int, reducing: list[str], detail: str) -> DecisionRecord:
    """A comparison of local orders and balances with the venues (the differences, if any)."""
    return DecisionRecord(
        "reconcile",
        "clean" if diffs == 0 else "diff",
        ts,
        {},
        {"diffs": diffs, "reducing": list[JsonValue](reducing), "detail": detail[:500]},
    )


def order_outcome_unknown(order: OrderRequest, detail: str) -> DecisionRecord:
    """Not an outcome: the venue could not say whether it holds the order (the intent stays open)."""
    return DecisionRecord(
        kind="order",
        status="outcome_unknown",
        ts=order.ts,
        artefacts={
            "client_order_id": order.client_order_id,
            "strategy": order.strategy,
            "venue": order.venue,
            "symbol": order.symbol,
        },
        metadata={"detail": detail[:500]},
    )


def order_failed(order: OrderRequest, kind: str, detail: str) -> DecisionRecord:
    metadata = order_metadata(order)
    metadata["error"] = kind
    metadata["detail"] = detail
    return DecisionRecord("order", "failed", order.ts, _order_artefacts(order), metadata)


def order_filled(fill: Fill) -> DecisionRecord:
    metadata: dict[str, JsonValue] = {
        "side": fill.side._value_,
        "quantity": decimal_str(fill.quantity),
        "price": decimal_str(fill.price),
        "fee": decimal_str(fill.fee),
        "fee_asset": fill.fee_asset,
        "liquidity": fill.liquidity._value_,
    }
    if fill.trade_id:
        metadata["trade_id"] = fill.trade_id
    artefacts: dict[str, JsonScalar] = {
        "order_id": fill.order_id,
        "client_order_id": fill.client_order_id,
        "strategy": fill.strategy,
        "venue": fill.venue,
        "symbol": fill.symbol,
    }
    return DecisionRecord("fill", "filled", fill.ts, artefacts, metadata)


def trading_state_changed(
    ts: int, scope: str, old: TradingState, new: TradingState, reason: str
) -> DecisionRecord:
    return DecisionRecord(
        kind="trading_state",
        status=new.value,
        ts=ts,
        artefacts={"scope": scope},
        metadata={"previous": old.value, "reason": reason},
    )
