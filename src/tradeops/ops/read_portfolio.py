"""Read use cases over the state store's projection: positions, balances, orders, fills, PnL per
strategy against its allocation, and the account's equity curve.

Each is `(context, Query) -> View`. The mark price of a symbol is its last fill price (the store
holds no quotes); equity is the quote balance plus every position at its mark.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from tradeops.config.overrides import format_timestamp
from tradeops.domain.trading import Fill, Position
from tradeops.ops.control_views import list_schedules
from tradeops.ops.read_models import (
    BalancesView,
    BalanceView,
    EquityCurveView,
    EquityPoint,
    FillsPage,
    FillView,
    OrdersPage,
    OrderView,
    PageQuery,
    PnlView,
    PositionsPage,
    PositionView,
    StrategyPnlView,
    paginate,
)
from tradeops.ops_ports import OpsContext

ZERO = Decimal(0)
OPEN_ORDER_STATUSES = frozenset({"open", "pending", "new", "partially_filled", "submitted"})


@runtime_checkable
class _TradeReader(Protocol):
    def load_fills(self, strategy: str | None = None) -> list[Fill]: ...

    def table_rows(self, table: str) -> list[dict[str, Any]]: ...


def _reader(ctx: OpsContext) -> _TradeReader | None:
    return ctx.store if isinstance(ctx.store, _TradeReader) else None


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _at(ts_ms: int | None) -> str | None:
    return format_timestamp(ts_ms) if ts_ms else None


def _marks(fills: Iterable[Fill]) -> dict[tuple[str, str], Decimal]:
    marks: dict[tuple[str, str], Decimal] = {}
    for fill in sorted(fills, key=lambda f: f.ts):
        marks[(fill.venue, fill.symbol)] = fill.price
    return marks


def _fills(ctx: OpsContext) -> list[Fill]:
    reader = _reader(ctx)
    return reader.load_fills() if reader is not None else []


@dataclass(frozen=True, slots=True)
class PositionsQuery:
    strategy: str | None = None
    symbol: str | None = None
    open_only: bool = True
    page: PageQuery = field(default_factory=PageQuery)


def _position_view(position: Position, mark: Decimal | None) -> PositionView:
    return PositionView(
        strategy=position.strategy,
        venue=position.venue,
        symbol=position.symbol,
        quantity=_text(position.quantity) or "0",
        avg_price=_text(position.avg_price) or "0",
        mark_price=_text(mark),
        unrealized_pnl=_text(position.unrealized(mark)) if mark is not None else None,
        realized_pnl=_text(position.realized_pnl) or "0",
    )


def read_positions(ctx: OpsContext, query: PositionsQuery) -> PositionsPage:
    """Positions per strategy (open ones by default), with mark and unrealized PnL."""
    marks = _marks(_fills(ctx))
    rows = [
        _position_view(p, marks.get((p.venue, p.symbol)))
        for p in sorted(ctx.store.load_positions(), key=lambda p: (p.strategy, p.venue, p.symbol))
        if (not query.open_only or p.is_open)
        and query.strategy in (None, p.strategy)
        and query.symbol in (None, p.symbol)
    ]
    items, info = paginate(rows, query.page)
    return PositionsPage(items, info)


@dataclass(frozen=True, slots=True)
class BalancesQuery:
    pass


def read_balances(ctx: OpsContext, _query: BalancesQuery) -> BalancesView:
    """Balances of the environment's account, by asset."""
    balances = ctx.store.load_balances()
    return BalancesView(
        tuple(BalanceView(ctx.environment, a, _text(v) or "0") for a, v in sorted(balances.items()))
    )


@dataclass(frozen=True, slots=True)
class TradesQuery:
    """Filters shared by orders and fills; times are epoch milliseconds, inclusive."""

    strategy: str | None = None
    symbol: str | None = None
    client_order_id: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    open_only: bool = False  # orders only
    page: PageQuery = field(default_factory=PageQuery)

    def keeps(self, strategy: str, symbol: str, client_order_id: str, ts: int) -> bool:
        return (
            self.strategy in (None, strategy)
            and self.symbol in (None, symbol)
            and self.client_order_id in (None, client_order_id)
            and (self.since_ms is None or ts >= self.since_ms)
            and (self.until_ms is None or ts <= self.until_ms)
        )


def _order_view(row: dict[str, Any]) -> OrderView:
    return OrderView(
        client_order_id=str(row["client_order_id"]),
        order_id=row.get("order_id"),
        strategy=str(row["strategy"]),
        venue=str(row["venue"]),
        symbol=str(row["symbol"]),
        side=str(row["side"]),
        quantity=_text(Decimal(row["quantity"])) or "0",
        price=_text(Decimal(row["limit_price"])) if row.get("limit_price") is not None else None,
        status=str(row["status"]),
        at=_at(int(row["ts"])),
    )


def read_orders(ctx: OpsContext, query: TradesQuery) -> OrdersPage:
    """Orders, newest first: open ones with `open_only`, else every recent order."""
    reader = _reader(ctx)
    rows = reader.table_rows("orders") if reader is not None else []
    kept = [
        r
        for r in rows
        if query.keeps(r["strategy"], r["symbol"], r["client_order_id"], int(r["ts"]))
        and (not query.open_only or r["status"] in OPEN_ORDER_STATUSES)
    ]
    kept.sort(key=lambda r: (int(r["ts"]), int(r["intent_seq"])), reverse=True)
    items, info = paginate([_order_view(r) for r in kept], query.page)
    return OrdersPage(items, info)


def _fill_view(fill: Fill) -> FillView:
    return FillView(
        order_id=fill.order_id,
        client_order_id=fill.client_order_id,
        strategy=fill.strategy,
        venue=fill.venue,
        symbol=fill.symbol,
        side=fill.side.value,
        quantity=_text(fill.quantity) or "0",
        price=_text(fill.price) or "0",
        fee=_text(fill.fee) or "0",
        fee_asset=fill.fee_asset,
        liquidity=fill.liquidity.value,
        at=format_timestamp(fill.ts),
    )


def read_fills(ctx: OpsContext, query: TradesQuery) -> FillsPage:
    """Fills, newest first."""
    fills = [f for f in _fills(ctx) if query.keeps(f.strategy, f.symbol, f.client_order_id, f.ts)]
    fills.sort(key=lambda f: f.ts, reverse=True)
    items, info = paginate([_fill_view(f) for f in fills], query.page)
    return FillsPage(items, info)


# --- PnL, exposure, equity -------------------------------------------------------------------------


def _quote(symbol: str) -> str:
    return symbol.split("/")[-1].split(":")[0]


def account_equity(ctx: OpsContext) -> Decimal:
    """The quote balance plus every open position at its mark."""
    fills = _fills(ctx)
    marks = _marks(fills)
    positions = ctx.store.load_positions()
    quotes = {_quote(p.symbol) for p in positions} | {_quote(f.symbol) for f in fills} or {"USDT"}
    cash = sum((v for a, v in ctx.store.load_balances().items() if a in quotes), ZERO)
    held = sum((p.quantity * marks.get((p.venue, p.symbol), p.avg_price) for p in positions), ZERO)
    return cash + held


@dataclass(frozen=True, slots=True)
class PnlQuery:
    strategy: str | None = None


def read_pnl(ctx: OpsContext, query: PnlQuery) -> PnlView:
    """Per strategy: realized and unrealized PnL, fees, exposure and allocation used vs allowed."""
    fills = _fills(ctx)
    marks = _marks(fills)
    equity = account_equity(ctx)
    positions = ctx.store.load_positions()
    rows: list[StrategyPnlView] = []
    for schedule in list_schedules(ctx):
        name = str(schedule["strategy"])
        if query.strategy not in (None, name):
            continue
        mine = [p for p in positions if p.strategy == name]
        own_fills = [f for f in fills if f.strategy == name]
        realized = sum((p.realized_pnl for p in mine), ZERO)
        unrealized = sum(
            (p.unrealized(marks.get((p.venue, p.symbol), p.avg_price)) for p in mine if p.is_open), ZERO
        )
        fees = sum((f.fee * (f.price if f.fee_in_base else 1) for f in own_fills), ZERO)
        exposure = sum((p.exposure(marks.get((p.venue, p.symbol), p.avg_price)) for p in mine), ZERO)
        ratio = float(str(schedule["allocation"]))
        allowed = equity * Decimal(str(ratio))
        rows.append(
            StrategyPnlView(
                strategy=name,
                realized_pnl=_text(realized) or "0",
                unrealized_pnl=_text(unrealized) or "0",
                fees=_text(fees) or "0",
                exposure=_text(exposure) or "0",
                allocation_ratio=ratio,
                allocation_allowed=_text(allowed) or "0",
                allocation_used_ratio=float(exposure / allowed) if allowed > 0 else None,
                fills=len(own_fills),
                disabled=bool(schedule["disabled"]),
            )
        )
    return PnlView(_text(equity) or "0", tuple(rows))


@dataclass(frozen=True, slots=True)
class EquityCurveQuery:
    max_points: int = 200

    def __post_init__(self) -> None:
        if not 2 <= self.max_points <= 5000:
            raise ValueError("max_points must be 2..5000")


def downsample(points: list[EquityPoint], max_points: int) -> tuple[EquityPoint, ...]:
    """At most `max_points`, evenly spaced by index; the first and the last point are always kept."""
    if len(points) <= max_points:
        return tuple(points)
    step = (len(points) - 1) / (max_points - 1)
    return tuple(points[round(i * step)] for i in range(max_points))


def read_equity_curve(ctx: OpsContext, query: EquityCurveQuery) -> EquityCurveView:
    """The account's equity after each fill (cash flows replayed backwards from today's equity,
    positions at the last price seen), downsampled to `max_points`."""
    fills = sorted(_fills(ctx), key=lambda f: f.ts)
    if not fills:
        return EquityCurveView((), 0, query.max_points)
    cash_now = account_equity(ctx) - sum(
        (
            p.quantity * _marks(fills).get((p.venue, p.symbol), p.avg_price)
            for p in ctx.store.load_positions()
        ),
        ZERO,
    )
    flows = [(-f.notional if f.side.value == "buy" else f.notional) - _fee(f) for f in fills]
    cash = cash_now - sum(flows, ZERO)
    held: dict[tuple[str, str, str], Decimal] = {}
    marks: dict[tuple[str, str], Decimal] = {}
    points: list[EquityPoint] = []
    for fill, flow in zip(fills, flows, strict=True):
        cash += flow
        key = (fill.strategy, fill.venue, fill.symbol)
        held[key] = held.get(key, ZERO) + (fill.quantity if fill.side.value == "buy" else -fill.quantity)
        marks[(fill.venue, fill.symbol)] = fill.price
        value = cash + sum((q * marks[(k[1], k[2])] for k, q in held.items()), ZERO)
        points.append(EquityPoint(format_timestamp(fill.ts), _text(value) or "0"))
    return EquityCurveView(downsample(points, query.max_points), len(points), query.max_points)


def _fee(fill: Fill) -> Decimal:
    return ZERO if fill.fee_in_base else fill.fee
