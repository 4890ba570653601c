"""Shared by the read-API and console tests (no tests here): a workspace with mTLS material, tokens
for the console (`operator`: write without the override scope; `oncall`: every scope;
`status-only`), a short real paper run so the store holds positions, orders and fills, and an
incident opened through the CLI; and for the browser tests, a real `tradeops api serve` process with
a headless Chromium signed in through it (`browser_console`, `Browser.page`), screenshots (`shot`)
and requests the page's buttons would not send (`forced`)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port, require_binary
from tests.integration.live import wait_for
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
from tradeops.control_api.tls import client_context
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
    " audit.read, incidents.read, incidents.write, alerts.read, alerts.write]\n"
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


# --- the browser tests: a real API process and a headless Chromium ------------------------------------

SHOTS = REPO / "build" / "console-screenshots"
CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 30_000
MIN_SHOT_BYTES = 15_000


@dataclass
class Browser:
    """A headless Chromium in front of the served console; each page is its own browser context
    presenting the `operator` client certificate, and every console error or page error is kept."""

    base_url: str
    workspace: Path
    layout: TlsLayout
    browser: Any
    errors: list[str] = field(default_factory=list)
    contexts: list[Any] = field(default_factory=list)

    def page(self, token: str | None = None, view: str | None = None, heading: str | None = None) -> Any:
        """A new page on /console, signed in with `token` and on `view` (its `heading` shown)."""
        cert, key = self.layout.client("operator")
        context = self.browser.new_context(
            ignore_https_errors=True,  # the server certificate comes from the test's own CA
            client_certificates=[{"origin": self.base_url, "certPath": str(cert), "keyPath": str(key)}],
            viewport={"width": 1280, "height": 900},
        )
        self.contexts.append(context)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=self.base_url)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.on(
            "console",
            lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.goto(f"{self.base_url}/console")
        if token is not None:
            page.get_by_label("Token").fill(token)
            page.get_by_role("button", name="Sign in").click()
            page.locator("#whoami").filter(has_text="signed in as token").wait_for()
        if view is not None:
            page.get_by_role("button", name=view, exact=True).click()
            page.get_by_role("heading", name=heading or view, exact=True).wait_for()
        return page

    def close_pages(self) -> list[str]:
        """Close every page (each holds a live-update stream open); the errors they logged."""
        for context in self.contexts:
            context.close()
        self.contexts.clear()
        errors = list(self.errors)
        self.errors.clear()
        return errors


def healthy(base_url: str, layout: TlsLayout) -> bool:
    cert, key = layout.client("operator")
    try:
        with httpx.Client(verify=client_context(layout.ca_cert, cert, key), timeout=2) as client:
            return client.get(f"{base_url}/health").status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def served_api(workspace: Path, layout: TlsLayout, environ: Mapping[str, str]) -> Iterator[str]:
    """`tradeops api serve` as its own process in `workspace` (mTLS on); its base URL once healthy."""
    port = free_port()
    base_url = f"https://127.0.0.1:{port}"
    with open(workspace / "api.out", "wb") as log:
        server = subprocess.Popen(
            [*TRADEOPS, "api", "serve", "--port", str(port), "--host", "127.0.0.1"],
            cwd=workspace,
            env=child_env(environ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: healthy(base_url, layout), 90, "the control API to serve")
        yield base_url
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@contextmanager
def browser_console(workspace: Path, layout: TlsLayout, base_url: str) -> Iterator[Browser]:
    """Debian's chromium driven by Playwright (no browser download) in front of `base_url`."""
    require_binary("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield Browser(base_url, workspace, layout, browser)
        finally:
            browser.close()


def shot(page: Any, name: str, *texts: str) -> Path:
    """Screenshot the page; it must hold `texts` and be a real image, not a blank one."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    body = page.locator("body").inner_text()
    for text in texts:
        assert text in body, f"{name}: {text!r} not on the page"
    assert path.stat().st_size > MIN_SHOT_BYTES, f"{name}: screenshot of {path.stat().st_size} bytes"
    return path


def forced(page: Any, token: str, method: str, path: str, body: dict[str, str]) -> int:
    """A request the page's buttons would not send, made from the signed-in page with its token."""
    script = """async ([method, path, body, token]) => (await fetch(path, {method,
        headers: {Authorization: `Bearer ${token}`, "Content-Type": "application/json"},
        body: JSON.stringify(body)})).status"""
    return int(page.evaluate(script, [method, path, body, token]))


def confirm(page: Any, reason: str | None = None, ticket: str | None = None) -> None:
    """Answer the confirmation dialog: with reason and ticket, or (an action whose form holds both)
    just confirm it."""
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    if reason is not None:
        dialog.get_by_label("Reason").fill(reason)
    if ticket is not None:
        dialog.get_by_label("Ticket").fill(ticket)
    dialog.get_by_role("button", name="Confirm").click()
