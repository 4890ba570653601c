"""Typed, frozen views of the read API and the console, and the one pagination rule they share.

Money and quantities are decimal strings (exact, JSON-safe); times are ISO 8601 UTC strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class PageQuery:
    """Which slice of an ordered result to return: `limit` items from `offset`."""

    limit: int = 100
    offset: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE or self.offset < 0:
            raise ValueError(f"page: limit must be 1..{MAX_PAGE} and offset >= 0")


@dataclass(frozen=True, slots=True)
class PageInfo:
    total: int
    offset: int
    limit: int
    next_offset: int | None  # None: this is the last page


def paginate(items: Sequence[T], page: PageQuery) -> tuple[tuple[T, ...], PageInfo]:
    """The page's items and where the next page starts."""
    chunk = tuple(items[page.offset : page.offset + page.limit])
    end = page.offset + len(chunk)
    info = PageInfo(len(items), page.offset, page.limit, end if end < len(items) else None)
    return chunk, info


# --- portfolio --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PositionView:
    strategy: str
    venue: str
    symbol: str
    quantity: str
    avg_price: str
    mark_price: str | None
    unrealized_pnl: str | None
    realized_pnl: str


@dataclass(frozen=True, slots=True)
class BalanceView:
    account: str
    asset: str
    amount: str


@dataclass(frozen=True, slots=True)
class PositionsPage:
    items: tuple[PositionView, ...]
    page: PageInfo


@dataclass(frozen=True, slots=True)
class BalancesView:
    items: tuple[BalanceView, ...]


@dataclass(frozen=True, slots=True)
class OrderView:
    client_order_id: str
    order_id: str | None
    strategy: str
    venue: str
    symbol: str
    side: str
    quantity: str
    price: str | None
    status: str
    at: str | None


@dataclass(frozen=True, slots=True)
class OrdersPage:
    items: tuple[OrderView, ...]
    page: PageInfo


@dataclass(frozen=True, slots=True)
class FillView:
    order_id: str
    client_order_id: str
    strategy: str
    venue: str
    symbol: str
    side: str
    quantity: str
    price: str
    fee: str
    fee_asset: str
    liquidity: str
    at: str


@dataclass(frozen=True, slots=True)
class FillsPage:
    items: tuple[FillView, ...]
    page: PageInfo


@dataclass(frozen=True, slots=True)
class StrategyPnlView:
    strategy: str
    realized_pnl: str
    unrealized_pnl: str
    fees: str
    exposure: str
    allocation_ratio: float  # the effective allocation (0 while disabled)
    allocation_allowed: str  # allocation_ratio x account equity
    allocation_used_ratio: float | None  # exposure / allowed; None when nothing is allowed
    fills: int
    disabled: bool


@dataclass(frozen=True, slots=True)
class PnlView:
    equity: str
    strategies: tuple[StrategyPnlView, ...]


@dataclass(frozen=True, slots=True)
class EquityPoint:
    at: str
    equity: str


@dataclass(frozen=True, slots=True)
class EquityCurveView:
    points: tuple[EquityPoint, ...]
    source_points: int  # before downsampling
    max_points: int


# --- state ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KillSwitchView:
    requested: bool  # an override file is present (or malformed: fails closed)
    malformed: bool
    observed: bool | None  # the running scheduler reports it; None: no live heartbeat
    overrides: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class StateView:
    environment: str
    checked_at: str
    verdict: str
    new_orders_allowed: bool
    scopes: dict[str, dict[str, Any]]
    kill_switch: KillSwitchView
    heartbeat: dict[str, Any] | None
    strategies: dict[str, dict[str, str]]
    file_mode_ok: bool | None  # the overrides directory is not world-writable; None: missing


# --- decision log -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogEntryView:
    line: int
    seq: int | None
    hash: str
    kind: str
    status: str
    timestamp: str
    strategy: str | None
    ticket: str | None
    verification: str  # verified | failed | unverified (after a failure) | unsigned
    entry: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LogHeadView:
    log: str
    path: str
    entries: int
    head: str
    verified: bool
    first_error_line: int | None
    reason: str | None
    anchor: dict[str, Any] | None
    anchor_problem: str | None


@dataclass(frozen=True, slots=True)
class LogEntriesPage:
    log: str
    path: str
    items: tuple[LogEntryView, ...]
    page: PageInfo
    chain_ok: bool


# --- incidents, alerts, load tests ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IncidentView:
    id: str
    title: str
    severity: str
    status: str
    ticket: str | None
    opened_at: str
    opened_by: str
    closed_at: str | None
    resolution: str | None
    notes: tuple[dict[str, Any], ...] = ()
    timeline: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class IncidentsPage:
    items: tuple[IncidentView, ...]
    page: PageInfo


@dataclass(frozen=True, slots=True)
class AlertsView:
    configured: bool  # observability.alertmanager.url is set
    url: str | None
    error: str | None  # Alertmanager could not be read (the console says so instead of "no alerts")
    alerts: tuple[dict[str, Any], ...] = ()
    silences: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class LoadTestReportView:
    name: str
    modified_at: str
    size_bytes: int
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LoadTestReportsPage:
    items: tuple[LoadTestReportView, ...]
    page: PageInfo
