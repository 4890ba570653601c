"""The console in a real headless Chromium (Debian `chromium`, driven by Playwright; no browser
download), with the client certificate presented by the browser context (mTLS stays on), against a
real `tradeops api serve` process and a real `--run-forever` scheduler trading in the same workspace.

Each view is screenshotted (build/console-screenshots/) and checked for size and key text; with
TRADEOPS_WRITE_DOCS_SCREENSHOT=1 the overview is also written to docs/img/console.png.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import playwright.sync_api  # noqa: F401  (a declared dev dependency: missing is an error, not a skip)
import pytest

from tests.integration.console_support import (
    CONSOLE_ENV,
    INCIDENT_TICKET,
    ONCALL_SECRET,
    OPERATOR_SECRET,
    REPO,
    Browser,
    add_operator_token,
    browser_console,
    child_env,
    confirm,
    forced,
    served_api,
    shot,
    tradeops,
)
from tests.integration.live import Scheduler, wait_for
from tests.integration.test_control_api_support import OBSERVER_SECRET, make_workspace

pytestmark = pytest.mark.slow

DOCS_SHOT = REPO / "docs" / "img" / "console.png"
OBEY_S = 120  # bound on the scheduler showing obedience (its heartbeat) on a loaded machine


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    workspace, layout, _ca = make_workspace(tmp_path_factory.mktemp("console"))
    add_operator_token(workspace)
    tradeops(
        workspace,
        CONSOLE_ENV,
        "incident",
        "open",
        "--title",
        "fills lag the venue",
        "--severity",
        "high",
        "--ticket",
        INCIDENT_TICKET,
    )
    scheduler = Scheduler(workspace, child_env(CONSOLE_ENV))
    try:
        with served_api(workspace, layout, CONSOLE_ENV) as base_url:
            wait_for(lambda: len(scheduler.orders()) >= 3, 90, "the scheduler to trade")
            with browser_console(workspace, layout, base_url) as browser:
                yield browser
    finally:
        scheduler.stop()


@pytest.fixture(autouse=True)
def no_console_errors(console: Browser) -> Iterator[None]:
    console.errors.clear()
    yield
    assert console.close_pages() == []


# --- sign-in and overview --------------------------------------------------------------------------


def test_sign_in_and_read_the_overview_while_the_scheduler_trades(console: Browser) -> None:
    page = console.page(ONCALL_SECRET)
    page.get_by_role("heading", name="Overview").wait_for()
    page.locator(".card", has_text="Trading state").filter(has_text="enabled").wait_for()
    heartbeat = page.locator(".card", has_text="Heartbeat").inner_text()
    assert "s ago" in heartbeat and "cycles" in heartbeat
    page.locator("#live").filter(has_text="live:").wait_for()
    path = shot(
        page,
        "overview",
        "Account equity",
        "PnL per strategy",
        "mean_reversion",
        "Open incidents",
        "Kill switch",
    )
    if os.environ.get("TRADEOPS_WRITE_DOCS_SCREENSHOT") == "1":
        DOCS_SHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SHOT)
    assert page.locator(".card", has_text="Open incidents").locator(".big").inner_text() == "1"


def test_token_lives_in_the_tab_memory_only(console: Browser) -> None:
    page = console.page(OBSERVER_SECRET)
    stored = page.evaluate("() => [localStorage.length, sessionStorage.length, document.cookie]")
    assert stored == [0, 0, ""]
    page.reload()
    page.get_by_role("heading", name="Sign in").wait_for()
    assert page.locator("#app").is_hidden()


def test_bad_token_is_refused_at_sign_in(console: Browser) -> None:
    page = console.page()
    page.get_by_label("Token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    page.locator("#sign-in-error").filter(has_text="401").wait_for()
    console.errors.clear()  # the browser logs the refused request itself


# --- strategies -------------------------------------------------------------------------------------


OBSERVED_IS = """([strategy, wanted]) => {
  const table = document.querySelector("#view table");
  const row = table && [...table.tBodies[0].rows].find((r) => r.cells[0].textContent === strategy);
  return Boolean(row) && row.cells[2].textContent === wanted;
}"""


def _wait_observed(page: Any, strategy: str, wanted: str) -> None:
    """The page shows what the scheduler reports, refreshed by the live-update stream (no reload)."""
    page.wait_for_function(OBSERVED_IS, arg=[strategy, wanted], timeout=OBEY_S * 1000)


def _wait_view_text(page: Any, text: str) -> None:
    page.locator("#view", has_text=text).wait_for(timeout=OBEY_S * 1000)


def test_disable_a_strategy_and_see_the_scheduler_obey(console: Browser) -> None:
    page = console.page(OPERATOR_SECRET)
    page.get_by_role("button", name="Strategies").click()
    page.get_by_role("heading", name="Strategies").wait_for()
    page.get_by_role("button", name="disable mean_reversion").click()
    confirm(page, "feed lag on ETH", "CHG-501")
    notice = page.locator("#notice").filter(has_text="decision-log entry seq")
    notice.wait_for()
    assert "disable mean_reversion: done" in notice.inner_text()
    _wait_observed(page, "mean_reversion", "disabled")
    shot(page, "strategies", "Used / allowed", "Recent orders", "Recent fills", "mean_reversion")
    orders = page.get_by_role("table", name="Recent orders").locator("tbody tr td:nth-child(8)")
    assert len(orders.all_inner_texts()) >= 3  # client order ids: the fixture waited for three orders
    page.get_by_role("button", name="enable mean_reversion").click()
    confirm(page, "feed back", "CHG-501")
    page.locator("#notice").filter(has_text="enable mean_reversion: done").wait_for()
    _wait_observed(page, "mean_reversion", "active")


def test_a_confirmation_without_ticket_sends_nothing(console: Browser) -> None:
    page = console.page(OPERATOR_SECRET)
    page.get_by_role("button", name="Strategies").click()
    page.get_by_role("button", name="disable daily_trend").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Reason").fill("no ticket given")
    dialog.get_by_role("button", name="Confirm").click()  # refused: the ticket is required
    assert dialog.is_visible()
    dialog.get_by_role("button", name="Cancel").click()
    assert dialog.is_hidden()
    assert page.locator("#notice").inner_text() == ""
    assert page.get_by_role("button", name="disable daily_trend").count() == 1  # nothing was sent


# --- kill switch ------------------------------------------------------------------------------------


def _killswitch_text(page: Any) -> str:
    page.get_by_role("button", name="Kill switch", exact=True).click()
    page.get_by_role("heading", name="Runbook checks (live)").wait_for()
    return str(page.locator("#view").inner_text())


def test_engage_and_clear_the_kill_switch_with_live_checks(console: Browser) -> None:
    page = console.page(ONCALL_SECRET)
    _killswitch_text(page)
    _wait_view_text(page, "observed by scheduler: trading")
    page.get_by_label("Positions while halted").select_option("hold")
    page.get_by_label("Keep open orders").check()
    page.get_by_role("button", name="Engage kill switch").click()
    page.get_by_role("dialog").get_by_text("(positions: hold; open orders: kept)").wait_for()
    confirm(page, "venue incident", "INC-4242")
    engaged = "engage the kill switch (positions: hold; open orders: kept): done; decision-log entry seq"
    page.locator("#notice").filter(has_text=engaged).wait_for()
    _wait_view_text(page, "observed by scheduler: halted")
    policy = page.get_by_role("table", name="Runbook checks").get_by_role("row", name="override policy")
    assert policy.inner_text().endswith("multi_strategy: positions hold, keep open orders")
    assert page.get_by_label("Keep open orders").is_checked()  # the live re-renders keep the choice
    shot(page, "killswitch", "override requested (file present)", "observed halt", "not world-writable")
    page.get_by_role("button", name="Clear kill switch").click()
    confirm(page, "venue back", "INC-4242")
    page.locator("#notice").filter(has_text="clear the kill switch: done").wait_for()
    _wait_view_text(page, "observed by scheduler: trading")


def test_write_token_without_override_scope_cannot_engage(console: Browser) -> None:
    page = console.page(OPERATOR_SECRET)
    page.get_by_role("button", name="Kill switch", exact=True).click()
    page.locator("#override-denied").wait_for()
    assert page.get_by_role("button", name="Engage kill switch").count() == 0
    assert forced(page, OPERATOR_SECRET, "POST", "/v1/override", {"reason": "try", "ticket": "T-1"}) == 403
    console.errors.clear()  # the browser logs the refused request itself


def test_read_only_token_sees_no_control_buttons_and_gets_403(console: Browser) -> None:
    page = console.page(OBSERVER_SECRET)
    page.get_by_role("button", name="Strategies").click()
    page.get_by_role("heading", name="Strategies").wait_for()
    assert page.get_by_role("button", name="disable mean_reversion").count() == 0
    assert "read-only" in page.locator("#view").inner_text()
    page.get_by_role("button", name="Kill switch", exact=True).click()
    page.locator("#override-denied").wait_for()
    body = {"reason": "r", "ticket": "T"}
    assert forced(page, OBSERVER_SECRET, "POST", "/v1/strategies/mean_reversion/disable", body) == 403
    assert forced(page, OBSERVER_SECRET, "POST", "/v1/override", body) == 403
    console.errors.clear()  # the browser logs the refused requests itself


# --- decision log, incidents, alerts ----------------------------------------------------------------


def test_browse_filter_open_verify_and_copy_the_head(console: Browser) -> None:
    page = console.page(ONCALL_SECRET)
    page.get_by_role("button", name="Decision log").click()
    page.locator("#chain").filter(has_text="chain verified").wait_for()
    page.get_by_label("Kind").fill("incident")  # the fixture opened one: every worker's log has it
    page.get_by_role("button", name="Filter").click()

    def kinds() -> set[str]:
        return set(page.locator("tbody tr td:nth-child(3)").all_inner_texts())

    wait_for(lambda: kinds() == {"incident"}, 60, "only incident entries listed")
    page.locator("tbody tr button").first.click()
    detail = page.locator("#entry-detail").inner_text()
    assert '"kind": "incident"' in detail and INCIDENT_TICKET in detail
    page.get_by_role("button", name="Copy head").click()
    page.locator("#notice").filter(has_text="head copied").wait_for()
    head = page.locator("#head").inner_text()
    assert page.evaluate("navigator.clipboard.readText()") == head and head.startswith("sha256:")
    shot(page, "decision-log", "chain verified", "Verification", "verified")


def test_incident_timeline(console: Browser) -> None:
    page = console.page(OBSERVER_SECRET)
    page.get_by_role("button", name="Incidents").click()
    page.get_by_role("button", name=INCIDENT_TICKET).click()
    page.get_by_role("heading", name=f"{INCIDENT_TICKET}: fills lag the venue").wait_for()
    shot(page, "incidents", "Timeline", "open, severity high")


def test_alerts_view_says_when_no_alertmanager_is_configured(console: Browser) -> None:
    page = console.page(OBSERVER_SECRET)
    page.get_by_role("button", name="Alerts").click()
    page.get_by_text("No Alertmanager configured").wait_for()
    shot(page, "alerts", "Alerts", "observability.alertmanager.url")


# --- accessibility and offline docs -----------------------------------------------------------------


def test_controls_are_labelled_and_keyboard_reachable(console: Browser) -> None:
    page = console.page(ONCALL_SECRET)
    views = (("Strategies", "Recent fills"), ("Kill switch", "Engage or clear"), ("Decision log", "Chain"))
    for view, ready in views:
        page.get_by_role("button", name=view, exact=True).click()
        page.get_by_role("heading", name=ready).wait_for()
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input, select')].filter((el) => !el.closest('dialog'))
                .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
                .map((el) => el.id || el.name)"""
        )
        assert unlabelled == [], view
    reached = set()
    page.locator("nav button").first.focus()
    for _ in range(40):  # bounded walk with the Tab key
        reached.add(page.evaluate("document.activeElement.textContent.trim()"))
        page.keyboard.press("Tab")
    assert {"Overview", "Strategies", "Kill switch", "Decision log", "Incidents", "Alerts"} <= reached
    page.locator("nav button", has_text="Alerts").focus()
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Alerts").wait_for()


@pytest.mark.parametrize(
    ("path", "text"), [("/docs", "tradeops control API"), ("/redoc", "tradeops control API")]
)
def test_api_docs_render_offline(console: Browser, path: str, text: str) -> None:
    page = console.page()
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(console.base_url) or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(f"{console.base_url}{path}")
    page.get_by_text(text).first.wait_for()
    page.get_by_text("/v1/positions").first.wait_for()
    assert outside == []
    shot(page, path.strip("/"), text)
    # ReDoc's side menu links its vendor's logo on a CDN: the page's policy refuses it, which is
    # the point (nothing is fetched from outside); any other console error still fails the test.
    console.errors[:] = [
        e for e in console.errors if not ("Content Security Policy" in e and "https://" in e)
    ]
