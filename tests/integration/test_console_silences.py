"""The console's Alerts view in a real headless Chromium against a real `tradeops api serve` process
and a real Alertmanager: create a Stage4 silence and expire it through the confirmation dialog
(each action names its decision-log entry), and a read-only token sees no silence buttons."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port, require_binary
from tests.integration.console_support import (
    CONSOLE_ENV,
    ONCALL_SECRET,
    TRADEOPS,
    add_operator_token,
    child_env,
)
from tests.integration.live import wait_for
from tests.integration.test_console_browser import CHROMIUM, WAIT_MS, _forced, _healthy, shot
from tests.integration.test_control_api_support import OBSERVER_SECRET, make_workspace
from tests.integration.test_read_alerts import alertmanager  # noqa: F401 - the real Alertmanager fixture
from tradeops.observability.alertmanager import AlertmanagerClient, parse_matcher
from tradeops.ops.rollback.state import STATE_PATH, RollbackState
from tradeops.security.certs import TlsLayout

pytestmark = pytest.mark.slow
sync_api = pytest.importorskip("playwright.sync_api")


@dataclass
class Browser:
    base_url: str
    workspace: Path
    layout: TlsLayout
    browser: Any
    errors: list[str] = field(default_factory=list)
    contexts: list[Any] = field(default_factory=list)

    def page(self, token: str, view: str = "Alerts", heading: str = "Silences") -> Any:
        cert, key = self.layout.client("operator")
        context = self.browser.new_context(
            ignore_https_errors=True,
            client_certificates=[{"origin": self.base_url, "certPath": str(cert), "keyPath": str(key)}],
            viewport={"width": 1280, "height": 900},
        )
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.goto(f"{self.base_url}/console")
        page.get_by_label("Token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        page.locator("#whoami").filter(has_text="signed in as token").wait_for()
        page.get_by_role("button", name=view).click()
        page.get_by_role("heading", name=heading).wait_for()
        return page


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, alertmanager: str) -> Iterator[Browser]:  # noqa: F811
    require_binary("chromium")
    workspace, layout, _ca = make_workspace(tmp_path_factory.mktemp("console-silences"))
    add_operator_token(workspace)
    port = free_port()
    base_url = f"https://127.0.0.1:{port}"
    env = child_env({**CONSOLE_ENV, "TRADEOPS_ALERTMANAGER_URL": alertmanager})
    with open(workspace / "api.out", "wb") as log:
        server = subprocess.Popen(
            [*TRADEOPS, "api", "serve", "--port", str(port), "--host", "127.0.0.1"],
            cwd=workspace,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: _healthy(base_url, layout), 90, "the control API to serve")
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                yield Browser(base_url, workspace, layout, browser)
            finally:
                browser.close()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(autouse=True)
def no_console_errors(console: Browser) -> Iterator[None]:
    console.errors.clear()
    yield
    for context in console.contexts:
        context.close()
    console.contexts.clear()
    assert console.errors == []


def _confirm(page: Any, reason: str, ticket: str) -> None:
    page.get_by_label("Reason").fill(reason)
    page.get_by_label("Ticket").fill(ticket)
    page.get_by_role("button", name="Confirm").click()


def test_create_and_expire_a_silence_from_the_console(console: Browser, alertmanager: str) -> None:  # noqa: F811
    page = console.page(ONCALL_SECRET)
    page.get_by_role("button", name="Silence Stage4 alerts").click()
    _confirm(page, "venue maintenance", "CHG-314")
    notice = page.locator("#notice").filter(
        has_text="silence the Stage4 alerts: done; decision-log entry seq"
    )
    notice.wait_for()
    with AlertmanagerClient(alertmanager) as client:
        ours = [s for s in client.silences() if s["comment"] == "CHG-314: venue maintenance"]
    assert [s["status"]["state"] for s in ours] == ["active"]
    silence_id = ours[0]["id"]
    assert "null" not in page.locator("#view").inner_text()
    expire = page.get_by_role("button", name=f"expire silence {silence_id}")
    expire.wait_for()
    shot(page, "alerts-silence", "CHG-314: venue maintenance", "Silence Stage4 alerts")

    expire.click()
    _confirm(page, "maintenance over", "CHG-314")
    page.locator("#notice").filter(
        has_text=f"expire silence {silence_id}: done; decision-log entry seq"
    ).wait_for()
    with AlertmanagerClient(alertmanager) as client:
        assert client.get_silence(silence_id)["status"]["state"] == "expired"
    wait_for(
        lambda: page.get_by_role("button", name=f"expire silence {silence_id}").count() == 0, 30, "no button"
    )


def test_read_only_token_sees_no_silence_buttons_and_gets_403(console: Browser, alertmanager: str) -> None:  # noqa: F811
    now = datetime.now(UTC)
    with AlertmanagerClient(alertmanager) as client:
        client.create_silence(
            (parse_matcher("stage=stage4"),), now, now + timedelta(hours=1), "ops", "CHG-7: held"
        )
    page = console.page(OBSERVER_SECRET)
    page.locator("#silence-denied").wait_for()
    page.get_by_text("CHG-7: held").wait_for()  # listed, but not expirable with this token
    assert page.get_by_role("button", name="Silence Stage4 alerts").count() == 0
    assert page.get_by_role("button", name="Expire").count() == 0
    assert _forced(page, OBSERVER_SECRET, "POST", "/v1/silences", {"reason": "r", "ticket": "T-1"}) == 403
    console.errors.clear()  # the browser logs the refused request itself


def test_incidents_view_shows_the_rollback_checklist(console: Browser) -> None:
    page = console.page(OBSERVER_SECRET, "Incidents", "Rollback checklist")
    page.locator("#rollback").filter(has_text="No rollback recorded").wait_for()
    state = RollbackState(
        "INC-88", "bad fills", "l2-ops", "strategy", "mean_reversion", "2026-03-01T12:00:00+00:00"
    )
    state.record("confirm", {"confirmed": True})
    state.record("secure_context", {"audit": "ok"})
    state.save(console.workspace / STATE_PATH)
    page.get_by_role("button", name="Incidents").click()
    summary = page.locator("#rollback").filter(has_text="INC-88: strategy mean_reversion, in_progress")
    summary.wait_for()
    assert "2 of 13 steps done; next: disable" in summary.inner_text()
    table = page.get_by_role("table", name="Rollback checklist")
    assert "confirmed=true" in table.inner_text() and "audit=ok" in table.inner_text()
    shot(page, "incidents-rollback", "Rollback checklist", "silence_alerts", "restore_config")
