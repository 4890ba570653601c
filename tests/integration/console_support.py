"""Shared by the read-API and console tests (no tests here): a workspace with mTLS material, tokens
for the console (`operator`: write without the override scope; `oncall`: every scope;
`status-only`), a short real paper run so the store holds positions, orders and fills, and an
incident opened through the CLI."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.integration.test_control_api_support import (
    SIGNING_KEY,
    TOKEN_ENV,
    RunningApi,
    make_workspace,
    wait_started,
)
from tradeops.bootstrap.ops import OpsContext, build_ops_context
from tradeops.config.load import load_config
from tradeops.control_api.app import create_app
from tradeops.control_api.server import make_server, startup_check
from tradeops.security.certs import TlsLayout

REPO = Path(__file__).resolve().parents[2]
TRADEOPS = [sys.executable, "-m", "tradeops.cli.main"]
OPERATOR_SECRET = "operator-secret-0123456789abcdef"

OBSERVER_LINE = (
    "      scopes: [runtime.schedule.read, metrics.read, audit.read, portfolio.read, incidents.read,"
    " alerts.read]\n"
)
OPERATOR_TOKEN = (
    "    - id: operator\n"
    "      env: TRADEOPS_CONSOLE_OPERATOR_TOKEN\n"
    "      scopes: [runtime.schedule.read, runtime.schedule.write, portfolio.read, audit.read,"
    " incidents.read, alerts.read]\n"
    "    - id: oncall\n"
    "      env: TRADEOPS_CONSOLE_ONCALL_TOKEN\n"
    "      scopes: [runtime.schedule.read, runtime.schedule.write, runtime.override.write, portfolio.read,"
    " audit.read, incidents.read, alerts.read, alerts.write]\n"
    "    - id: status-only\n"
    "      env: TRADEOPS_CONSOLE_STATUS_TOKEN\n"
    "      scopes: [runtime.schedule.read]\n"
)
STATUS_SECRET = "status-only-secret-0123456789abcdef"
ONCALL_SECRET = "oncall-secret-0123456789abcdef"
CONSOLE_ENV = {
    **TOKEN_ENV,
    "TRADEOPS_CONSOLE_OPERATOR_TOKEN": OPERATOR_SECRET,
    "TRADEOPS_CONSOLE_STATUS_TOKEN": STATUS_SECRET,
    "TRADEOPS_CONSOLE_ONCALL_TOKEN": ONCALL_SECRET,
}
INCIDENT_TICKET = "INC-4242"
RUN_BARS = "300"


def add_operator_token(workspace: Path) -> None:
    core = workspace / "config" / "core.yaml"
    text = core.read_text(encoding="utf-8")
    assert OBSERVER_LINE in text, "the observer token's scopes line moved: update console_support"
    core.write_text(text.replace(OBSERVER_LINE, OBSERVER_LINE + OPERATOR_TOKEN, 1), encoding="utf-8")


def child_env(environ: Mapping[str, str]) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEOPS_")}
    env.update(environ)
    env["TRADEOPS_DECISION_LOG_KEY"] = environ.get("TRADEOPS_DECISION_LOG_KEY", SIGNING_KEY)
    env["TRADEOPS_DECISION_LOG_KEY_ID"] = environ.get("TRADEOPS_DECISION_LOG_KEY_ID", "control-api-test")
    return env


def tradeops(workspace: Path, environ: Mapping[str, str], *args: str, timeout: float = 180) -> str:
    done = subprocess.run(
        [*TRADEOPS, *args],
        cwd=workspace,
        env=child_env(environ),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"tradeops {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout


def seed(workspace: Path, environ: Mapping[str, str] = CONSOLE_ENV) -> None:
    """A short paper run (positions, orders, fills, a signed trading log) and one open incident."""
    tradeops(
        workspace,
        environ,
        "run",
        "--environment",
        "binance_paper",
        "--synthetic",
        "--bars",
        RUN_BARS,
        "--no-metrics",
    )
    tradeops(
        workspace,
        environ,
        "incident",
        "open",
        "--title",
        "fills lag the venue",
        "--severity",
        "high",
        "--ticket",
        INCIDENT_TICKET,
    )


def prepare_workspace(root: Path) -> tuple[Path, TlsLayout]:
    """A seeded workspace with mTLS material, for a server started as its own process."""
    workspace, layout, _ca = make_workspace(root)
    add_operator_token(workspace)
    seed(workspace)
    return workspace, layout


@contextmanager
def console_api(
    root: Path, *, environ: Mapping[str, str] = CONSOLE_ENV, seeded: bool = True
) -> Iterator[RunningApi]:
    """The real server (uvicorn in a thread, mTLS) over a seeded workspace; stopped on exit."""
    workspace, layout, ca = make_workspace(root)
    add_operator_token(workspace)
    if seeded:
        seed(workspace, environ)
    env = dict(environ)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(workspace)
        for name in (
            "TRADEOPS_DECISION_LOG_KEY",
            "TRADEOPS_DECISION_LOG_KEY_FILE",
            "TRADEOPS_ALERTMANAGER_URL",
            "TRADEOPS_DECISION_LOG_KEY_ID",
        ):
            mp.delenv(name, raising=False)
        mp.setenv("TRADEOPS_DECISION_LOG_KEY", env.get("TRADEOPS_DECISION_LOG_KEY", SIGNING_KEY))
        # the same key id as the CLI runs that seeded the logs (child_env), or the server refuses to append
        mp.setenv("TRADEOPS_DECISION_LOG_KEY_ID", env.get("TRADEOPS_DECISION_LOG_KEY_ID", "control-api-test"))
        cfg = load_config("config/core.yaml")
        context = startup_check(cfg, env, insecure_dev=False, host="127.0.0.1")

        def ctx_factory() -> OpsContext:
            return build_ops_context("config/core.yaml", "binance_paper", environ=env)

        app = create_app(ctx_factory)
        port = free_port()
        server = make_server(app, host="127.0.0.1", port=port, ssl_context=context)
        thread = threading.Thread(target=server.run, name="control-api", daemon=True)
        thread.start()
        api = RunningApi(f"https://127.0.0.1:{port}", workspace, layout, ca, app.state)
        try:
            wait_started(server, thread)
            yield api
        finally:
            for client in api.extra_clients:
                client.close()
            server.should_exit = True
            thread.join(timeout=15)
