"""Shared by the control API tests (no tests here): a real uvicorn server on 127.0.0.1 with mTLS,
certificates generated into a temporary workspace, and clients with or without certificates."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tradeops.bootstrap.ops import OpsContext, build_ops_context
from tradeops.config.load import load_config
from tradeops.config.models import ControlApiLimits
from tradeops.control_api.app import create_app
from tradeops.control_api.server import make_server, startup_check
from tradeops.control_api.tls import client_context
from tradeops.security.certs import Issued, TlsLayout, issue_ca, issue_client, issue_server, write_issued

REPO = Path(__file__).resolve().parents[2]
SCHEDULER_SECRET = "scheduler-secret-0123456789abcdef"
OBSERVER_SECRET = "observer-secret-0123456789abcdef"
SIGNING_KEY = "control-api-test-key-0123456789"
TOKEN_ENV = {
    "TRADEOPS_SCHEDULER_TOKEN": SCHEDULER_SECRET,
    "TRADEOPS_OBSERVER_TOKEN": OBSERVER_SECRET,
    "TRADEOPS_DECISION_LOG_KEY": SIGNING_KEY,
    "TRADEOPS_DECISION_LOG_KEY_ID": "control-api-test",
}
START_TIMEOUT_S = 15.0


def make_workspace(root: Path, *, tls_material: bool = True) -> tuple[Path, TlsLayout, Issued]:
    """A copy of config/ plus a CA, a server certificate and an `operator` client certificate."""
    shutil.copytree(REPO / "config", root / "config")
    layout = TlsLayout.from_config(load_config(root / "config" / "core.yaml").control_api.tls)
    layout = TlsLayout(
        ca_cert=root / layout.ca_cert,
        ca_key=root / layout.ca_key,
        server_cert=root / layout.server_cert,
        server_key=root / layout.server_key,
        clients_dir=root / layout.clients_dir,
    )
    ca = issue_ca()
    if not tls_material:
        return root, layout, ca
    write_issued(ca, layout.ca_cert, layout.ca_key)
    write_issued(issue_server(ca), layout.server_cert, layout.server_key)
    write_issued(issue_client(ca, "operator"), *layout.client("operator"))
    return root, layout, ca


@dataclass
class RunningApi:
    base_url: str
    workspace: Path
    layout: TlsLayout
    ca: Issued
    app_state: object
    extra_clients: list[httpx.Client] = field(default_factory=list)

    @property
    def ctx(self) -> OpsContext:
        ctx: OpsContext = self.app_state.ctx  # type: ignore[attr-defined]
        return ctx

    def tls(self, client: str | None = "operator") -> ssl.SSLContext:
        if client is None:
            return client_context(self.layout.ca_cert)
        cert, key = self.layout.client(client)
        return client_context(self.layout.ca_cert, cert, key)

    def client(self, *, cert: str | None = "operator", token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.Client(base_url=self.base_url, verify=self.tls(cert), headers=headers, timeout=10.0)
        self.extra_clients.append(client)
        return client

    def issue(
        self, name: str, *, ca: Issued | None = None, now: dt.datetime | None = None, days: int = 30
    ) -> str:
        """Write a client certificate `name` (by default from the server's CA) and return the name."""
        write_issued(
            issue_client(ca or self.ca, name, now=now, days=days), *self.layout.client(name), force=True
        )
        return name


def wait_started(server: object, thread: threading.Thread) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not getattr(server, "started", False):
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("control API server did not start")
        time.sleep(0.02)


@contextmanager
def running_api(
    root: Path,
    *,
    environ: Mapping[str, str] = TOKEN_ENV,
    insecure_dev: bool = False,
    insecure_warning_interval_s: float | None = None,
    tls_material: bool = True,
    protocol: type[asyncio.Protocol] | None = None,
    limits: ControlApiLimits | None = None,
) -> Iterator[RunningApi]:
    """Start the real server (uvicorn, its own thread) in a fresh workspace; stop it on exit."""
    workspace, layout, ca = make_workspace(root, tls_material=tls_material)
    env = dict(environ)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(workspace)
        for name in ("TRADEOPS_DECISION_LOG_KEY", "TRADEOPS_DECISION_LOG_KEY_FILE"):
            mp.delenv(name, raising=False)
        mp.setenv("TRADEOPS_DECISION_LOG_KEY", env.get("TRADEOPS_DECISION_LOG_KEY", SIGNING_KEY))
        cfg = load_config("config/core.yaml")
        context = startup_check(cfg, env, insecure_dev=insecure_dev, host="127.0.0.1")

        def ctx_factory() -> OpsContext:
            return build_ops_context("config/core.yaml", "binance_paper", environ=env)

        app = create_app(
            ctx_factory, allow_anonymous=insecure_dev, insecure_warning_interval_s=insecure_warning_interval_s
        )
        port = free_port()
        server = make_server(
            app, host="127.0.0.1", port=port, ssl_context=context, protocol=protocol, limits=limits
        )
        thread = threading.Thread(target=server.run, name="control-api", daemon=True)
        thread.start()
        scheme = "https" if context is not None else "http"
        api = RunningApi(f"{scheme}://127.0.0.1:{port}", workspace, layout, ca, app.state)
        try:
            wait_started(server, thread)
            yield api
        finally:
            for client in api.extra_clients:
                client.close()
            server.should_exit = True
            thread.join(timeout=START_TIMEOUT_S)
    assert os.getcwd() != str(workspace)
