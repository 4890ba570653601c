"""The control API application: FastAPI over the operations use cases, RBAC on every /v1 route."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from tradeops import __version__
from tradeops.config.models import ControlApiLimits
from tradeops.control_api.config_routes import router as config_router
from tradeops.control_api.console_routes import console
from tradeops.control_api.events import router as read_router  # the read API and its /v1/events
from tradeops.control_api.incident_routes import router as incident_router
from tradeops.control_api.limits import BodyLimit
from tradeops.control_api.rbac import AccessPolicy, check_table
from tradeops.control_api.routes import public, v1
from tradeops.control_api.silence_routes import router as silence_router
from tradeops.domain.errors import AlreadyExists, TradeopsError, UserInputError
from tradeops.ops.control_common import UnknownStrategy
from tradeops.ops.incident_model import IncidentStateError, UnknownIncident
from tradeops.ops_ports import OpsContext
from tradeops.security.tokens import TokenVerifier, resolve_tokens

log = logging.getLogger("tradeops.control_api")

INSECURE_WARNING = "control API running with --insecure-dev: mTLS and/or token checks are OFF"


def _status_of(exc: TradeopsError) -> int:
    if isinstance(exc, UnknownStrategy | UnknownIncident):
        return 404
    if isinstance(exc, AlreadyExists | IncidentStateError):
        return 409
    if isinstance(exc, UserInputError):
        return 400
    return 500


async def _tradeops_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TradeopsError)
    detail = f"unknown strategy {exc.strategy!r}" if isinstance(exc, UnknownStrategy) else str(exc)
    return JSONResponse({"detail": detail}, status_code=_status_of(exc))


def _json_safe(value: Any) -> Any:
    """`value` with NaN/Infinity and other non-JSON values as strings (a 422 must never be a 500)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": _json_safe(list(exc.errors()))}, status_code=422)


async def _nag(interval_s: float) -> None:
    while True:
        log.warning(INSECURE_WARNING)
        await asyncio.sleep(interval_s)


def create_app(
    ctx_factory: Callable[[], OpsContext],
    *,
    max_body_bytes: int = ControlApiLimits().max_body_bytes,
    allow_anonymous: bool = False,
    insecure_warning_interval_s: float | None = None,
) -> FastAPI:
    """Build the app; `ctx_factory` runs once at startup (the context is closed at shutdown).

    `allow_anonymous` (only from --insecure-dev) lets requests without a token through, and only
    while no configured token has its secret present. `insecure_warning_interval_s` logs a warning
    that often while the app runs. A body over `max_body_bytes` is refused with 413.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = ctx_factory()
        verifier = TokenVerifier(resolve_tokens(ctx.cfg.control_api.tokens, ctx.environ))
        app.state.ctx = ctx
        app.state.write_lock = threading.Lock()
        app.state.access_policy = AccessPolicy(verifier, allow_anonymous and not verifier)
        nag = asyncio.create_task(_nag(insecure_warning_interval_s)) if insecure_warning_interval_s else None
        try:
            yield
        finally:
            if nag is not None:
                nag.cancel()
            ctx.close()

    app = FastAPI(
        title="tradeops control API",
        version=__version__,
        description="Operator control of the trading runtime over mTLS with scoped bearer tokens.",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc are served from vendored files (console_routes): offline
        redoc_url=None,
    )
    app.include_router(public)
    app.include_router(v1)
    app.include_router(config_router)
    app.include_router(read_router)
    app.include_router(silence_router)
    app.include_router(incident_router)
    app.include_router(console)
    app.add_exception_handler(TradeopsError, _tradeops_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    check_table(app.openapi()["paths"])
    return app


def openapi_document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()
