"""The read API: thin GET endpoints over the read use cases in tradeops.ops.read_*.

Every route is under /v1 (scoped by rbac.ENDPOINT_SCOPES, same mTLS + token stack as the control
endpoints); lists are paginated with `limit` and `offset` and answer `page.next_offset`.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

from tradeops.control_api.rbac import Principal, authorize
from tradeops.control_api.routes import AUTH_RESPONSES, Ctx, offload
from tradeops.domain.errors import UserInputError
from tradeops.ops import read_models as views
from tradeops.ops.read_alerts import AlertsQuery, read_alerts
from tradeops.ops.read_audit import (
    IncidentQuery,
    IncidentsQuery,
    LoadTestReportsQuery,
    LogEntriesQuery,
    LogHeadQuery,
    read_incident,
    read_incidents,
    read_load_test_reports,
    read_log_entries,
    read_log_head,
)
from tradeops.ops.read_portfolio import (
    BalancesQuery,
    EquityCurveQuery,
    PnlQuery,
    PositionsQuery,
    TradesQuery,
    read_balances,
    read_equity_curve,
    read_fills,
    read_orders,
    read_pnl,
    read_positions,
)
from tradeops.ops.read_rollback import RollbackQuery, RollbackView, read_rollback
from tradeops.ops.read_state import StateQuery, read_state

reads = APIRouter(prefix="/v1", dependencies=[Depends(authorize)], responses=AUTH_RESPONSES, tags=["read"])

Name = Annotated[str | None, Query(min_length=1, max_length=128)]
Limit = Annotated[int, Query(ge=1, le=views.MAX_PAGE, description="Items per page")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Where the page starts")]
EpochMs = Annotated[int | None, Query(ge=0, le=10**15, description="Epoch milliseconds (inclusive)")]
LogChoice = Annotated[Literal["operations", "trading"], Query()]


def _page(limit: int, offset: int) -> views.PageQuery:
    return views.PageQuery(limit=limit, offset=offset)


@reads.get("/whoami", summary="The calling token's id, scopes and client certificate subject")
async def whoami(caller: Annotated[Principal, Depends(authorize)]) -> dict[str, object]:
    return {
        "token_id": caller.token_id,
        "scopes": sorted(caller.scopes),
        "client_subject": caller.client_subject,
    }


@reads.get("/state", response_model=views.StateView, summary="Trading state, kill switch, heartbeat")
async def get_state(ctx: Ctx) -> views.StateView:
    return await offload(lambda: read_state(ctx, StateQuery()))


@reads.get("/positions", response_model=views.PositionsPage, summary="Positions per strategy")
async def get_positions(
    ctx: Ctx,
    strategy: Name = None,
    symbol: Name = None,
    include_closed: bool = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> views.PositionsPage:
    query = PositionsQuery(strategy, symbol, not include_closed, _page(limit, offset))
    return await offload(lambda: read_positions(ctx, query))


@reads.get("/balances", response_model=views.BalancesView, summary="Balances of the account")
async def get_balances(ctx: Ctx) -> views.BalancesView:
    return await offload(lambda: read_balances(ctx, BalancesQuery()))


def _trades(
    strategy: Name = None,
    symbol: Name = None,
    client_order_id: Name = None,
    since_ms: EpochMs = None,
    until_ms: EpochMs = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> TradesQuery:
    return TradesQuery(strategy, symbol, client_order_id, since_ms, until_ms, False, _page(limit, offset))


Trades = Annotated[TradesQuery, Depends(_trades)]


@reads.get("/orders", response_model=views.OrdersPage, summary="Open or recent orders, newest first")
async def get_orders(ctx: Ctx, trades: Trades, open_only: bool = False) -> views.OrdersPage:
    query = dataclasses.replace(trades, open_only=open_only)
    return await offload(lambda: read_orders(ctx, query))


@reads.get("/fills", response_model=views.FillsPage, summary="Fills, newest first")
async def get_fills(ctx: Ctx, trades: Trades) -> views.FillsPage:
    return await offload(lambda: read_fills(ctx, trades))


@reads.get("/pnl", response_model=views.PnlView, summary="PnL and exposure per strategy vs allocation")
async def get_pnl(ctx: Ctx, strategy: Name = None) -> views.PnlView:
    return await offload(lambda: read_pnl(ctx, PnlQuery(strategy)))


@reads.get("/equity", response_model=views.EquityCurveView, summary="Account equity curve (downsampled)")
async def get_equity(
    ctx: Ctx, max_points: Annotated[int, Query(ge=2, le=5000)] = 200
) -> views.EquityCurveView:
    return await offload(lambda: read_equity_curve(ctx, EquityCurveQuery(max_points)))


@reads.get(
    "/decision-log/entries",
    response_model=views.LogEntriesPage,
    summary="Decision-log entries with their verification status, newest first",
)
async def get_log_entries(
    ctx: Ctx,
    log: LogChoice = "operations",
    kind: Name = None,
    status_: Annotated[str | None, Query(alias="status", min_length=1, max_length=64)] = None,
    strategy: Name = None,
    ticket: Name = None,
    oldest_first: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> views.LogEntriesPage:
    query = LogEntriesQuery(log, kind, status_, strategy, ticket, not oldest_first, _page(limit, offset))
    return await offload(lambda: read_log_entries(ctx, query))


@reads.get("/decision-log/head", response_model=views.LogHeadView, summary="Verified head and anchor")
async def get_log_head(ctx: Ctx, log: LogChoice = "operations") -> views.LogHeadView:
    return await offload(lambda: read_log_head(ctx, LogHeadQuery(log)))


@reads.get("/incidents", response_model=views.IncidentsPage, summary="Incidents, newest first")
async def get_incidents(
    ctx: Ctx, open_only: bool = False, limit: Limit = 50, offset: Offset = 0
) -> views.IncidentsPage:
    return await offload(lambda: read_incidents(ctx, IncidentsQuery(open_only, _page(limit, offset))))


@reads.get(
    "/incidents/{incident_id}",
    response_model=views.IncidentView,
    summary="One incident with its timeline",
    responses={404: {"description": "No such incident"}},
)
async def get_incident(
    ctx: Ctx, incident_id: Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
) -> views.IncidentView:
    def read() -> views.IncidentView:
        try:
            return read_incident(ctx, IncidentQuery(incident_id))
        except UserInputError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc

    return await offload(read)


@reads.get(
    "/rollback",
    response_model=RollbackView,
    summary="The guided rollback's checklist: each rollback and restore step, done or not",
)
async def get_rollback(ctx: Ctx) -> RollbackView:
    return await offload(lambda: read_rollback(ctx, RollbackQuery()))


@reads.get("/alerts", response_model=views.AlertsView, summary="Active alerts and silences (Alertmanager)")
async def get_alerts(ctx: Ctx, include_expired_silences: bool = False) -> views.AlertsView:
    return await offload(lambda: read_alerts(ctx, AlertsQuery(include_expired_silences)))


@reads.get("/load-tests", response_model=views.LoadTestReportsPage, summary="Load-test reports")
async def get_load_tests(ctx: Ctx, limit: Limit = 50, offset: Offset = 0) -> views.LoadTestReportsPage:
    query = LoadTestReportsQuery(page=_page(limit, offset))
    return await offload(lambda: read_load_test_reports(ctx, query))
