"""Endpoints. Each one calls the same use-case function as the CLI (tradeops.ops.controls)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Query, Request, status
from fastapi.responses import JSONResponse

from tradeops.control_api import schemas
from tradeops.control_api.rbac import AccessPolicy, Principal, authorize
from tradeops.decision_log.reader import tail
from tradeops.domain.errors import TradeopsError
from tradeops.ops.control_views import iso_or_none
from tradeops.ops.controls import (
    MAX_REASON_CHARS,
    MAX_TICKET_CHARS,
    list_schedules,
    scheduler_status,
)
from tradeops.ops.kill_switch_control import (
    HaltTrading,
    ResumeTrading,
    TradingHalted,
    TradingResumed,
    halt,
    resume,
)
from tradeops.ops.observed import ObservedStatusQuery, observed_status
from tradeops.ops.strategy_control import (
    DisableStrategy,
    Door,
    EnableStrategy,
    ShowStrategy,
    StrategyChanged,
    disable,
    enable,
    show,
)
from tradeops.ops_ports import OpsContext

T = TypeVar("T")
ERROR: dict[str, Any] = {"model": schemas.ErrorResponse}
Responses = dict[int | str, dict[str, Any]]
AUTH_RESPONSES: Responses = {
    401: ERROR | {"description": "Missing or invalid bearer token"},
    403: ERROR | {"description": "The token lacks this endpoint's scope"},
    500: ERROR | {"description": "The operation failed (e.g. the decision log could not be written)"},
}
BAD_REQUEST: Responses = {400: ERROR | {"description": "Rejected by the use case (the message says why)"}}
UNKNOWN_STRATEGY: Responses = {404: ERROR | {"description": "No strategy of that name"}}

public = APIRouter(tags=["probes"])
v1 = APIRouter(prefix="/v1", dependencies=[Depends(authorize)], responses=AUTH_RESPONSES)

StrategyName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


async def context(request: Request) -> OpsContext:
    ctx: OpsContext = request.app.state.ctx
    return ctx


async def write_lock(request: Request) -> threading.Lock:
    """Writes are serialised: one operator change at a time, in decision-log order."""
    lock: threading.Lock = request.app.state.write_lock
    return lock


Ctx = Annotated[OpsContext, Depends(context)]
Caller = Annotated[Principal, Depends(authorize)]
WriteLock = Annotated[threading.Lock, Depends(write_lock)]


async def offload(fn: Callable[[], T]) -> T:
    """Run blocking use-case code (SQLite, files, fsync) off the event loop: one thread hop per
    request (sync endpoints would cost FastAPI two: the call and the response validation)."""
    return await anyio.to_thread.run_sync(fn)


def _door(principal: Principal) -> Door:
    return Door("api", principal.name, principal.token_id, principal.client_subject)


# --- probes ---------------------------------------------------------------------------------------


@public.get("/health", response_model=schemas.Health, summary="Liveness")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@public.get(
    "/ready",
    response_model=schemas.Readiness,
    summary="Readiness: state store, signing key, tokens",
    responses={503: {"model": schemas.Readiness, "description": "Not ready (see checks)"}},
)
async def ready(request: Request, ctx: Ctx) -> Any:
    checks = await offload(lambda: _readiness_checks(ctx))
    policy: AccessPolicy = request.app.state.access_policy
    checks["tokens"] = "ok" if policy.verifier or policy.allow_anonymous else "error: no usable token"
    ok = all(v == "ok" for v in checks.values())
    body = {"status": "ready" if ok else "not_ready", "checks": checks}
    return body if ok else JSONResponse(body, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)


def _readiness_checks(ctx: OpsContext) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        ctx.store.strategy_statuses()
        checks["state_store"] = "ok"
    except Exception as exc:  # a probe reports any failure instead of raising it
        checks["state_store"] = f"error: {type(exc).__name__}"
    try:
        ctx.keys.signing_key()
        checks["decision_log_key"] = "ok"
    except TradeopsError as exc:
        checks["decision_log_key"] = f"error: {exc}"
    return checks


# --- reads ----------------------------------------------------------------------------------------


@v1.get(
    "/status",
    response_model=schemas.SchedulerStatusView,
    summary="Requested state and what the running scheduler observes (its heartbeat)",
)
async def get_status(ctx: Ctx) -> dict[str, object]:
    return await offload(lambda: observed_status(ctx, ObservedStatusQuery(wait_s=0.0)).to_dict())


@v1.get("/schedules", response_model=schemas.ScheduleList, summary="Schedules with effective allocation")
async def get_schedules(ctx: Ctx) -> dict[str, object]:
    return {"schedules": await offload(lambda: list_schedules(ctx))}


@v1.get("/trading-state", response_model=schemas.TradingStateView, summary="May new orders go out?")
async def get_trading_state(ctx: Ctx) -> dict[str, object]:
    return await offload(lambda: _trading_state(ctx))


def _trading_state(ctx: OpsContext) -> dict[str, object]:
    view = scheduler_status(ctx)
    override_active = any(bool(o["active"]) or bool(o["malformed"]) for o in view.overrides)
    scopes = {k: (s.value, r, t) for k, (s, r, t) in ctx.store.trading_state_details().items()}
    halted = scopes.get("global", ("active", "", 0))[0] == "halted"
    return {
        "environment": ctx.environment,
        "checked_at": view.checked_at,
        "new_orders_allowed": not override_active and not halted,
        "override_active": override_active,
        "scopes": {
            k: {"state": s, "reason": r, "changed_at": iso_or_none(t)} for k, (s, r, t) in scopes.items()
        },
        "disabled_strategies": [str(d["strategy"]) for d in view.disabled_strategies],
    }


@v1.get(
    "/decision-log/recent",
    response_model=schemas.DecisionLogEntries,
    summary="Last n decision-log entries, oldest first",
)
async def get_recent_entries(
    ctx: Ctx,
    n: Annotated[int, Query(ge=1, le=1000)] = 20,
    log: Annotated[Literal["operations", "trading"], Query()] = "operations",
) -> dict[str, object]:
    if log == "operations":
        path = ctx.operator_log.path
    else:
        path = FsPath(ctx.cfg.decision_log_path(ctx.environment))
    entries = await offload(lambda: tail(path, n) if path.exists() else [])
    return {"path": str(path), "entries": entries}


@v1.get(
    "/strategies/{name}",
    response_model=schemas.StrategyDetailView,
    summary="One strategy: operator state, risk profile, effective allocation",
    responses=UNKNOWN_STRATEGY,
)
async def get_strategy(name: StrategyName, ctx: Ctx) -> dict[str, object]:
    return (await offload(lambda: show(ctx, ShowStrategy(name)))).to_json()


# --- writes ---------------------------------------------------------------------------------------


@v1.post(
    "/strategies/{name}/disable",
    response_model=schemas.StrategyStatusView,
    summary="Disable one strategy (allocation 0, bucket manual)",
    responses=BAD_REQUEST
    | UNKNOWN_STRATEGY
    | {409: ERROR | {"description": "Already disabled for another reason; send replace=true to replace"}},
)
async def post_disable(
    name: StrategyName, body: schemas.StrategyDisable, ctx: Ctx, caller: Caller, lock: WriteLock
) -> dict[str, object]:
    command = DisableStrategy(
        name,
        body.reason,
        body.ticket,
        _door(caller),
        body.requested_by,
        duration_minutes=body.duration_minutes,
        replace=body.replace,
    )

    def write() -> StrategyChanged:
        with lock:
            return disable(ctx, command)

    return (await offload(write)).to_json()


@v1.post(
    "/strategies/{name}/enable",
    response_model=schemas.StrategyStatusView,
    summary="Restore one strategy to its risk profile",
    responses=BAD_REQUEST | UNKNOWN_STRATEGY,
)
async def post_enable(
    name: StrategyName, body: schemas.StrategyChange, ctx: Ctx, caller: Caller, lock: WriteLock
) -> dict[str, object]:
    command = EnableStrategy(name, body.reason, body.ticket, _door(caller), body.requested_by)

    def write() -> StrategyChanged:
        with lock:
            return enable(ctx, command)

    return (await offload(write)).to_json()


@v1.post(
    "/override",
    response_model=schemas.OverrideCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Global kill switch: stop every new order",
    responses=BAD_REQUEST | {409: ERROR | {"description": "An override exists; send force=true to replace"}},
)
async def post_override(
    body: schemas.OverrideRequest, ctx: Ctx, caller: Caller, lock: WriteLock
) -> dict[str, object]:
    command = HaltTrading(
        body.reason,
        body.ticket,
        _door(caller),
        body.requested_by,
        component=body.component,
        duration_minutes=body.duration_minutes,
        force=body.force,
        positions=body.positions,
        cancel_open_orders=body.cancel_open_orders,
    )

    def write() -> TradingHalted:
        with lock:
            return halt(ctx, command)

    return (await offload(write)).to_json()


@v1.delete(
    "/override",
    response_model=schemas.OverrideRemoved,
    summary="Remove the kill switch (trading resumes)",
    responses=BAD_REQUEST,
)
async def delete_override(
    ctx: Ctx,
    caller: Caller,
    lock: WriteLock,
    reason: Annotated[
        str, Query(max_length=MAX_REASON_CHARS, description="Why trading may resume (required when removing)")
    ] = "",
    ticket: Annotated[str, Query(max_length=MAX_TICKET_CHARS)] = "",
    component: Annotated[Literal["multi_strategy", "decision_orchestrator"] | None, Query()] = None,
) -> dict[str, object]:
    command = ResumeTrading(reason, _door(caller), ticket=ticket, component=component)

    def write() -> TradingResumed:
        with lock:
            return resume(ctx, command)

    return (await offload(write)).to_json()
