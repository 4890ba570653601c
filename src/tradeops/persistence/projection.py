"""The projection: decision-log entries in, state-store rows out. One function for every path.

The live path (ProjectingSink), `tradeops state rebuild` and `tradeops state check` all fold log
entries through `Projection.apply`, so a rebuilt store equals the live one row for row. Entries are
plain dicts as read from (or written to) the log; this module imports nothing from decision_log.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tradeops.domain.money import ZERO, decimal_str
from tradeops.domain.order_ids import id_sequence
from tradeops.domain.trading import Fill, Liquidity, Position, Side

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
OPEN_STATUSES = frozenset({"intent", "open"})
TERMINAL_STATUSES = frozenset({"filled", "cancelled", "failed", "abandoned"})
PAPER_ID_PREFIX = "paper-"
FEES_PREFIX = "fees "  # projection_meta key of the fees a strategy has paid over the account's life


class ProjectionError(ValueError):
    """An entry cannot be applied (a duplicate id, a fill of an unknown order): the log and the
    state disagree. Never overwritten silently."""


@dataclass
class OrderRow:
    client_order_id: str
    venue: str
    strategy: str
    symbol: str
    side: str
    order_type: str
    limit_price: Decimal | None
    quantity: Decimal
    reduce_only: bool
    ts: int
    intent_seq: int
    order_id: str | None = None
    filled: Decimal = ZERO
    status: str = "intent"
    updated_seq: int = 0
    fills: int = 0

    def row(self) -> dict[str, Any]:
        return {
            "client_order_id": self.client_order_id,
            "venue": self.venue,
            "order_id": self.order_id,
            "strategy": self.strategy,
            "symbol": self.symbol,
            "side": self.side,
            "order_type": self.order_type,
            "limit_price": self.limit_price,
            "quantity": self.quantity,
            "filled": self.filled,
            "reduce_only": self.reduce_only,
            "status": self.status,
            "ts": self.ts,
            "intent_seq": self.intent_seq,
            "updated_seq": self.updated_seq,
        }


def _ms(entry: Mapping[str, Any]) -> int:
    """The event's time: `metadata.ts_ms`, else (entries written before it existed) the timestamp."""
    value = entry["metadata"].get("ts_ms")
    if type(value) is int:
        return value
    moment = datetime.fromisoformat(str(entry["timestamp"]))
    return (moment - EPOCH) // timedelta(milliseconds=1)


_SIDES: dict[Any, Side] = {side.value: side for side in Side}  # a lookup, not an Enum call per fill
_LIQUIDITY: dict[Any, Liquidity] = {kind.value: kind for kind in Liquidity}


def fill_from_entry(entry: Mapping[str, Any]) -> Fill:
    art, meta = entry["artefacts"], entry["metadata"]
    side, liquidity = meta["side"], meta["liquidity"]
    return Fill(
        order_id=str(art["order_id"]),
        client_order_id=str(art["client_order_id"]),
        strategy=str(art["strategy"]),
        venue=str(art["venue"]),
        symbol=str(art["symbol"]),
        side=_SIDES.get(side) or Side(side),
        quantity=Decimal(meta["quantity"]),
        price=Decimal(meta["price"]),
        fee=Decimal(meta["fee"]),
        fee_asset=str(meta["fee_asset"]),
        liquidity=_LIQUIDITY.get(liquidity) or Liquidity(liquidity),
        ts=_ms(entry),
        trade_id=str(meta.get("trade_id", "")),
    )


def paper_sequence(order_id: str) -> int:
    """The counter in a paper venue id `paper-<venue>-<n>` (0 for other ids)."""
    if not order_id.startswith(PAPER_ID_PREFIX):
        return 0
    tail = order_id.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def client_sequence(client_order_id: str) -> int:
    """The account-wide order sequence at the end of a client order id (0 when absent)."""
    return id_sequence(client_order_id)


@dataclass
class Projection:
    """The state the log implies, plus what changed since the last `drain`."""

    balances: dict[str, Decimal] = field(default_factory=dict)
    positions: dict[tuple[str, str, str], Position] = field(default_factory=dict)
    orders: dict[str, OrderRow] = field(default_factory=dict)
    fills: dict[int, Fill] = field(default_factory=dict)
    fill_ids: dict[int, str] = field(default_factory=dict)
    trading: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    cursor: dict[str, int] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    quote_asset: str | None = None
    _exchange_ids: set[tuple[str, str]] = field(default_factory=set)
    _dirty: defaultdict[str, set[Any]] = field(default_factory=lambda: defaultdict(set))
    _new_orders: set[str] = field(default_factory=set)
    _cursor_step: Any = None  # the last step_ms folded: cursor_ms is at least it (one check a step)

    # --- folding ---------------------------------------------------------------------------------

    def apply(self, seq: int, entry: Mapping[str, Any]) -> None:
        kind = entry["kind"]
        step = entry["metadata"].get("step_ms")
        if step != self._cursor_step:  # the entries of one step share it: compared once
            self._cursor_step = step
            if type(step) is int and step > int(self.meta.get("cursor_ms", "0")):
                self._set_meta("cursor_ms", str(step))
        handler = _HANDLERS.get((kind, entry["status"])) or _ANY_STATUS.get(kind)
        if handler is not None:
            handler(self, seq, entry)

    def _touch(self, table: str, key: Any) -> None:
        self._dirty[table].add(key)

    def _set_meta(self, key: str, value: str) -> None:
        self.meta[key] = value
        self._touch("projection_meta", key)

    def _balance(self, seq: int, entry: Mapping[str, Any]) -> None:
        for asset, amount in entry["metadata"]["balances"].items():
            self.balances[asset] = Decimal(amount)
            self.quote_asset = self.quote_asset or asset
            self._touch("balances", asset)

    def _intent(self, seq: int, entry: Mapping[str, Any]) -> None:
        art, meta = entry["artefacts"], entry["metadata"]
        cid = str(art["client_order_id"])
        if cid in self.orders:
            raise ProjectionError(f"log seq {seq}: client order id {cid!r} was already used (seq "
                                  f"{self.orders[cid].intent_seq}); ids must be unique forever")  # fmt: skip
        limit = meta.get("limit_price")
        self.orders[cid] = OrderRow(
            client_order_id=cid,
            venue=str(art["venue"]),
            strategy=str(art["strategy"]),
            symbol=str(art["symbol"]),
            side=str(meta["side"]),
            order_type=str(meta.get("order_type", "market")),
            limit_price=None if limit is None else Decimal(limit),
            quantity=Decimal(meta["quantity"]),
            reduce_only=bool(meta.get("reduce_only", False)),
            ts=_ms(entry),
            intent_seq=seq,
            updated_seq=seq,
        )
        self._bump("client_order_seq", client_sequence(cid))
        self._new_orders.add(cid)
        self._touch("orders", cid)

    def _bump(self, key: str, value: int) -> None:
        if value > int(self.meta.get(key, "0")):
            self._set_meta(key, str(value))

    def _order(self, seq: int, entry: Mapping[str, Any]) -> OrderRow:
        cid = str(entry["artefacts"]["client_order_id"])
        order = self.orders.get(cid)
        if order is None:
            raise ProjectionError(f"log seq {seq}: {entry['kind']} {entry['status']} of client order id "
                                  f"{cid!r} without its intent (risk_decision accepted)")  # fmt: skip
        order.updated_seq = seq
        self._dirty["orders"].add(cid)
        return order

    def _submitted(self, seq: int, entry: Mapping[str, Any]) -> None:
        order = self._order(seq, entry)
        if "order_id" not in entry["artefacts"]:  # written before acknowledgements named the id
            order.status = "open"
            return
        order_id = str(entry["artefacts"]["order_id"])
        key = (order.venue, order_id)
        if key in self._exchange_ids:
            raise ProjectionError(
                f"log seq {seq}: exchange order id {order_id!r} on {order.venue} names two orders"
            )
        self._exchange_ids.add(key)
        order.order_id, order.status = order_id, "open"
        self._bump("paper_order_seq", paper_sequence(order_id))

    def _closed(self, seq: int, entry: Mapping[str, Any]) -> None:
        order = self._order(seq, entry)
        if order.status in OPEN_STATUSES:
            order.status = {"failed": "failed", "abandoned": "abandoned"}.get(entry["status"], "cancelled")

    def _cancel_all(self, seq: int, entry: Mapping[str, Any]) -> None:
        strategy = entry["artefacts"]["strategy"]
        for cid, order in self.orders.items():
            if order.status == "open" and strategy in ("*", order.strategy):
                order.status, order.updated_seq = "cancelled", seq
                self._touch("orders", cid)

    def _fill(self, seq: int, entry: Mapping[str, Any]) -> None:
        fill = fill_from_entry(entry)
        order = self._order(seq, entry)
        if order.order_id is not None and order.order_id != fill.order_id:
            raise ProjectionError(
                f"log seq {seq}: fill names order {fill.order_id!r}, "
                f"the venue acknowledged {order.order_id!r}"
            )
        order.fills += 1
        order.filled += fill.quantity
        if order.filled >= order.quantity:
            order.status = "filled"
        self.fills[seq] = fill
        self.fill_ids[seq] = fill.trade_id or f"{fill.order_id}#{order.fills}"
        dirty = self._dirty
        dirty["fills"].add(seq)
        key = (fill.strategy, fill.venue, fill.symbol)
        old = self.positions.get(key) or Position(*key)
        self.positions[key] = old.apply(fill)
        dirty["positions"].add(key)
        asset = self.quote_asset or fill.fee_asset
        self.balances[asset] = self.balances.get(asset, ZERO) + fill.cash_change
        fees = FEES_PREFIX + fill.strategy
        self.meta[fees] = decimal_str(Decimal(self.meta.get(fees, "0")) + fill.fee_value)
        dirty["projection_meta"].add(fees)
        dirty["balances"].add(asset)

    def _trading_state(self, seq: int, entry: Mapping[str, Any]) -> None:
        scope = str(entry["artefacts"]["scope"])
        self.trading[scope] = (str(entry["status"]), str(entry["metadata"].get("reason", "")), _ms(entry))
        self._touch("trading_state", scope)

    def _checkpoint(self, seq: int, entry: Mapping[str, Any]) -> None:
        meta = entry["metadata"]
        for series, ts in meta["cursor"].items():
            self.cursor[series] = int(ts)
            self._touch("replay_cursor", series)
        self._set_meta("peak_equity", str(meta["peak_equity"]))

    def _run(self, seq: int, entry: Mapping[str, Any]) -> None:
        market = entry["metadata"].get("market") or {}
        if entry["status"] in ("started", "resumed") and market:
            self._set_meta("market", ",".join(f"{k}={market[k]}" for k in sorted(market)))
        self._set_meta("run_id", str(entry["artefacts"]["run_id"]))

    # --- output ----------------------------------------------------------------------------------

    def rows(self, table: str, keys: Any = None) -> list[dict[str, Any]]:
        """Rows of `table` (all of them, or those with `keys`), as the store writes them."""
        make = getattr(self, _ROW_MAKERS[table])
        return [make(key) for key in (self._keys(table) if keys is None else keys)]

    def _keys(self, table: str) -> list[Any]:
        sources: dict[str, Mapping[Any, Any]] = {
            "balances": self.balances,
            "positions": self.positions,
            "orders": self.orders,
            "fills": self.fills,
            "trading_state": self.trading,
            "replay_cursor": self.cursor,
            "projection_meta": self.meta,
        }
        return sorted(sources[table])

    def _balance_row(self, key: str) -> dict[str, Any]:
        return {"asset": key, "amount": self.balances[key]}

    def _position_row(self, key: tuple[str, str, str]) -> dict[str, Any]:
        p = self.positions[key]
        return {
            "strategy": p.strategy,
            "venue": p.venue,
            "symbol": p.symbol,
            "quantity": p.quantity,
            "avg_price": p.avg_price,
            "realized_pnl": p.realized_pnl,
            "opened_ts": p.opened_ts,
        }

    def _order_row(self, key: str) -> dict[str, Any]:
        return self.orders[key].row()

    def _fill_row(self, key: int) -> dict[str, Any]:
        f = self.fills[key]
        return {
            "log_seq": key,
            "fill_id": self.fill_ids[key],
            "order_id": f.order_id,
            "client_order_id": f.client_order_id,
            "strategy": f.strategy,
            "venue": f.venue,
            "symbol": f.symbol,
            "side": f.side.value,
            "quantity": f.quantity,
            "price": f.price,
            "fee": f.fee,
            "fee_asset": f.fee_asset,
            "liquidity": f.liquidity.value,
            "ts": f.ts,
        }

    def _trading_row(self, key: str) -> dict[str, Any]:
        state, reason, ts = self.trading[key]
        return {"scope": key, "state": state, "reason": reason, "ts_ms": ts}

    def _cursor_row(self, key: str) -> dict[str, Any]:
        return {"series": key, "last_bar_ts": self.cursor[key]}

    def _meta_row(self, key: str) -> dict[str, Any]:
        return {"key": key, "value": self.meta[key]}

    def drain(self) -> tuple[dict[str, list[dict[str, Any]]], set[str]]:
        """Rows changed since the last drain, per table, and the client ids of orders that are new
        since then (inserted, never upserted); then forget both."""
        dirty, self._dirty = self._dirty, defaultdict(set)
        new, self._new_orders = self._new_orders, set()
        return {table: self.rows(table, sorted(keys)) for table, keys in dirty.items() if keys}, new

    def compact(self) -> None:
        """Forget what later entries cannot change (fills, finished orders): the live projection
        stays small; the store's unique constraints still refuse a repeated id."""
        self.fills.clear()
        self.fill_ids.clear()
        for cid in [cid for cid, o in self.orders.items() if o.status in TERMINAL_STATUSES]:
            del self.orders[cid]

    def open_intents(self) -> list[OrderRow]:
        """Intents without an acknowledgement or any other outcome."""
        return [o for o in self.orders.values() if o.status == "intent"]


_HANDLERS: dict[tuple[str, str], Any] = {
    ("balance", "set"): Projection._balance,
    ("risk_decision", "accepted"): Projection._intent,
    ("order", "submitted"): Projection._submitted,
    ("order", "failed"): Projection._closed,
    ("order", "abandoned"): Projection._closed,
    ("order", "cancelled"): Projection._closed,
    ("order", "cancelled_all"): Projection._cancel_all,
    ("fill", "filled"): Projection._fill,
    ("trading_state", "*"): Projection._trading_state,
    ("checkpoint", "cursor"): Projection._checkpoint,
    ("run", "*"): Projection._run,
}
_ANY_STATUS = {kind: handler for (kind, status), handler in _HANDLERS.items() if status == "*"}
STATE_KINDS = frozenset(kind for kind, _ in _HANDLERS)
_ROW_MAKERS = {
    "balances": "_balance_row",
    "positions": "_position_row",
    "orders": "_order_row",
    "fills": "_fill_row",
    "trading_state": "_trading_row",
    "replay_cursor": "_cursor_row",
    "projection_meta": "_meta_row",
}
