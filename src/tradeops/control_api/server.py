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
from uvicorn.protocols.http.h11_impl import H11Protocol

from tradeops.bootstrap.ops import OpsContext, build_ops_context
from tradeops.config.models import AppConfig
from tradeops.control_api.app import create_app
from tradeops.control_api.rbac import CLIENT_SUBJECT_STATE
from tradeops.control_api.tls import peer_subject, server_context
from tradeops.domain.errors import UserInputError
from tradeops.security.tokens import resolve_tokens

log = logging.getLogger("tradeops.control_api")

INSECURE_WARNING_INTERVAL_S = 60.0


class MtlsH11Protocol(H11Protocol):
    """uvicorn's h11 protocol that puts the verified client certificate's subject into the
    request scope's `state` (uvicorn copies `app_state` into every request of the connection)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        subject = peer_subject(transport.get_extra_info("ssl_object"))
        self.app_state = {**self.app_state, CLIENT_SUBJECT_STATE: subject}


def _protocol() -> type[asyncio.Protocol]:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return MtlsH11Protocol

    class MtlsHttpToolsProtocol(HttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            subject = peer_subject(transport.get_extra_info("ssl_object"))
            self.app_state = {**self.app_state, CLIENT_SUBJECT_STATE: subject}

    return MtlsHttpToolsProtocol


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
    **config: Any,
) -> uvicorn.Server:
    """A uvicorn server that serves `app` with exactly `ssl_context` (or plain HTTP for None).

    `protocol` defaults to the httptools protocol when installed, else h11 (both record the client
    certificate subject)."""
    factory: Callable[..., ssl.SSLContext] | None = None
    if ssl_context is not None:

        def factory(_config: uvicorn.Config, _default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
            return ssl_context

    uv_config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol or _protocol(),
        ssl_context_factory=factory,
        log_level=log_level,
        lifespan="on",
        **config,
    )
    return uvicorn.Server(uv_config)


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
        allow_anonymous=insecure_dev,
        insecure_warning_interval_s=INSECURE_WARNING_INTERVAL_S if insecure_dev else None,
    )
    scheme = "https" if context is not None else "http"
    log.warning("control API on %s://%s:%d (environment %s)", scheme, bind_host, bind_port, environment)
    make_server(app, host=bind_host, port=bind_port, ssl_context=context, log_level="info").run()
