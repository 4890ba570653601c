"""Serve the control API with uvicorn: mTLS and at least one usable token, or refuse to start."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import ssl
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import uvicorn

from tradeops.bootstrap.ops import OpsContext, build_ops_context
from tradeops.config.models import AppConfig, ControlApiLimits
from tradeops.control_api.app import create_app
from tradeops.control_api.limits import BoundedServer, MtlsH11Protocol, MtlsHttpToolsProtocol, with_limits
from tradeops.control_api.tls import server_context
from tradeops.domain.errors import UserInputError
from tradeops.security.tokens import resolve_tokens

__all__ = ["MtlsH11Protocol", "MtlsHttpToolsProtocol", "make_server", "serve", "startup_check"]

log = logging.getLogger("tradeops.control_api")

INSECURE_WARNING_INTERVAL_S = 60.0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def startup_check(
    cfg: AppConfig, environ: Mapping[str, str], *, insecure_dev: bool, host: str
) -> ssl.SSLContext | None:
    """The TLS context to serve with; refuse (UserInputError) without mTLS material or a usable
    token unless `insecure_dev` (then serve what is available, on a loopback address only)."""
    tls = cfg.control_api.tls
    usable = [t for t in resolve_tokens(cfg.control_api.tokens, environ) if t.usable]
    problems: list[str] = []
    context: ssl.SSLContext | None = None
    if not tls.require_client_cert:
        problems.append("control_api.tls.require_client_cert is false (mTLS is required)")
    try:
        context = server_context(tls)
    except UserInputError as exc:
        problems.append(str(exc))
    if not usable:
        envs = ", ".join(t.env for t in cfg.control_api.tokens if t.env) or "none declared"
        problems.append(f"no control_api token has its secret present (env: {envs})")
    if not problems:
        return context
    if not insecure_dev:
        raise UserInputError(f"control API refuses to start: {problems[0]}; or pass --insecure-dev")
    if not _loopback(host):
        raise UserInputError(f"--insecure-dev: only on a loopback host, not {host}")
    for problem in problems:
        log.warning("insecure-dev: %s", problem)
    return context


def lower_priority(nice: int) -> None:
    """Raise this process's niceness to at least `nice` (never lowers it)."""
    current = os.nice(0)
    if nice > current:
        os.nice(nice - current)


def make_server(
    app: Any,
    *,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
    log_level: str = "warning",
    protocol: type[asyncio.Protocol] | None = None,
    limits: ControlApiLimits | None = None,
    **config: Any,
) -> uvicorn.Server:
    """A uvicorn server that serves `app` with exactly `ssl_context` (or plain HTTP for None).

    `protocol` defaults to the httptools protocol (h11 is the fallback; both record the client
    certificate subject and enforce `limits`: header size, count and timeout, TLS handshake
    timeout, keep-alive and open connections; the body limit is the app's middleware)."""
    bounds = limits or ControlApiLimits()
    factory: Callable[..., ssl.SSLContext] | None = None
    if ssl_context is not None:

        def factory(_config: uvicorn.Config, _default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
            return ssl_context

    uv_config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=with_limits(protocol or MtlsHttpToolsProtocol, bounds),
        ssl_context_factory=factory,
        log_level=log_level,
        lifespan="on",
        h11_max_incomplete_event_size=bounds.max_header_bytes,
        timeout_keep_alive=bounds.keep_alive_seconds,
        limit_concurrency=bounds.max_connections,
        **config,
    )
    return BoundedServer(uv_config, handshake_timeout_s=bounds.header_timeout_seconds)


def serve(
    cfg: AppConfig,
    *,
    config_path: str | Path = "config/core.yaml",
    environment: str = "binance_paper",
    insecure_dev: bool = False,
    host: str | None = None,
    port: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Run until interrupted. Refuses to start without mTLS material and a usable token."""
    env = os.environ if environ is None else environ
    bind_host = host or cfg.control_api.host
    bind_port = cfg.control_api.port if port is None else port
    context = startup_check(cfg, env, insecure_dev=insecure_dev, host=bind_host)
    lower_priority(cfg.control_api.nice)

    def ctx_factory() -> OpsContext:
        return build_ops_context(config_path, environment)

    app = create_app(
        ctx_factory,
        max_body_bytes=cfg.control_api.limits.max_body_bytes,
        allow_anonymous=insecure_dev,
        insecure_warning_interval_s=INSECURE_WARNING_INTERVAL_S if insecure_dev else None,
    )
    scheme = "https" if context is not None else "http"
    log.warning("control API on %s://%s:%d (environment %s)", scheme, bind_host, bind_port, environment)
    make_server(
        app,
        host=bind_host,
        port=bind_port,
        ssl_context=context,
        log_level="info",
        limits=cfg.control_api.limits,
    ).run()
