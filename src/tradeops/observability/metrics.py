"""The runtime's Prometheus exporter: `start_metrics_server(stats, cfg, limits)` serves /metrics.

A small threaded HTTP server (https with `observability.metrics.tls`, optional bearer token named by
`observability.metrics.token_env`) over the collector in `tradeops.observability.collector`, whose
`METRIC_NAMES` it re-exports: every family name alert rules and the dashboard may use.
"""

from __future__ import annotations

import hmac
import os
import ssl
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from tradeops import __version__
from tradeops.config.models import MetricsConfig, ResourceLimits, TlsConfig
from tradeops.domain.errors import UserInputError
from tradeops.observability.collector import (
    HISTOGRAM_NAMES,
    METRIC_NAMES,
    SPECS,
    RuntimeCollector,
    build_registry,
    queryable_names,
)
from tradeops.runtime.stats import RuntimeStats

__all__ = [
    "HISTOGRAM_NAMES",
    "METRIC_NAMES",
    "SPECS",
    "MetricsServer",
    "RuntimeCollector",
    "build_registry",
    "queryable_names",
    "server_tls_context",
    "start_metrics_server",
]

_HANDSHAKE_TIMEOUT_S = 10.0


class _ExporterHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    registry: CollectorRegistry
    token: str | None
    scheme: str = "http"

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that fails the TLS handshake or hangs up is not the exporter's error."""


class _MetricsHandler(BaseHTTPRequestHandler):
    server: _ExporterHTTPServer
    server_version = f"tradeops-metrics/{__version__}"

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            # Handshake here, in the request's thread, so a slow client cannot stall accept().
            self.request.settimeout(_HANDSHAKE_TIMEOUT_S)
            self.request.do_handshake()
        super().setup()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path not in ("/metrics", "/"):
            self._reply(404, b"not found: try /metrics\n")
            return
        if not self._authorized():
            self._reply(401, b"unauthorized: send Authorization: Bearer <token>\n")
            return
        if path == "/":
            self._reply(200, b"tradeops metrics: /metrics\n")
            return
        self._reply(200, generate_latest(self.server.registry), CONTENT_TYPE_LATEST)

    def _authorized(self) -> bool:
        token = self.server.token
        if token is None:
            return True
        header = self.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip(), token)

    def _reply(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status == 401:
            self.send_header("WWW-Authenticate", "Bearer")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Scrapes every few seconds would flood stderr; stay quiet."""


class MetricsServer:
    """A running exporter; `.port` is the bound port (useful with port 0), `.stop()` shuts it down."""

    def __init__(self, httpd: _ExporterHTTPServer) -> None:
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="metrics-exporter", daemon=True)
        self._thread.start()

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"{self._httpd.scheme}://{self.host}:{self.port}/metrics"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def server_tls_context(tls: TlsConfig) -> ssl.SSLContext:
    """TLS >= 1.2 with the configured certificate; client certificates when tls.require_client_cert."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    files = [("certificate", tls.certificate), ("private_key", tls.private_key)]
    if tls.require_client_cert:
        files.append(("client_ca", tls.client_ca))
    for field_name, path in files:
        if not Path(path).is_file():
            raise UserInputError(
                f"observability.metrics.tls.{field_name} {path}: not found (see `tradeops certs init`)"
            )
    try:
        context.load_cert_chain(certfile=tls.certificate, keyfile=tls.private_key)
        if tls.require_client_cert:
            context.load_verify_locations(cafile=tls.client_ca)
            context.verify_mode = ssl.CERT_REQUIRED
    except (ssl.SSLError, OSError) as exc:
        raise UserInputError(f"observability.metrics.tls: cannot use the certificate files ({exc})") from exc
    return context


def start_metrics_server(
    stats: RuntimeStats,
    cfg: MetricsConfig,
    limits: ResourceLimits,
    environ: Mapping[str, str] = os.environ,
) -> MetricsServer:
    """Serve `stats` on http://cfg.host:cfg.port/metrics in a background thread (https with cfg.tls).

    With `cfg.token_env` set, scrapes must send `Authorization: Bearer <value of that env var>`;
    a named but unset variable is a UserInputError (never serve unprotected by accident).
    """
    token: str | None = None
    if cfg.token_env:
        token = environ.get(cfg.token_env) or None
        if token is None:
            raise UserInputError(
                f"observability.metrics.token_env names {cfg.token_env}, which is not set: "
                f"export {cfg.token_env}=<token> or remove token_env"
            )
    try:
        httpd = _ExporterHTTPServer((cfg.host, cfg.port), _MetricsHandler)
    except OSError as exc:
        raise UserInputError(
            f"cannot serve metrics on {cfg.host}:{cfg.port} ({exc.strerror or exc}): "
            "change observability.metrics.port or stop the other process"
        ) from exc
    if cfg.tls is not None:
        try:
            context = server_tls_context(cfg.tls)
        except UserInputError:
            httpd.server_close()
            raise
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
        httpd.scheme = "https"
    httpd.registry = build_registry(stats, limits)
    httpd.token = token
    return MetricsServer(httpd)
