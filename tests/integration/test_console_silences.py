"""The console's Alerts view in a real headless Chromium against a real `tradeops api serve` process
and a real Alertmanager: create a Stage4 silence and expire it through the confirmation dialog
(each action names its decision-log entry), and a read-only token sees no silence buttons."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import playwright.sync_api  # noqa: F401  (a declared dev dependency: missing is an error, not a skip)
import pytest

from tests.integration.console_support import (
    CONSOLE_ENV,
    ONCALL_SECRET,
    Browser,
    add_operator_token,
    browser_console,
    confirm,
    forced,
    served_api,
    shot,
)
from tests.integration.live import wait_for
from tests.integration.test_control_api_support import OBSERVER_SECRET, make_workspace
from tests.integration.test_read_alerts import alertmanager  # noqa: F401 - the real Alertmanager fixture
from tradeops.observability.alertmanager import AlertmanagerClient, parse_matcher, to_rfc3339
from tradeops.ops.rollback.state import STATE_PATH, RollbackState

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, alertmanager: str) -> Iterator[Browser]:  # noqa: F811
    workspace, layout, _ca = make_workspace(tmp_path_factory.mktemp("console-silences"))
    add_operator_token(workspace)
    environ = {**CONSOLE_ENV, "TRADEOPS_ALERTMANAGER_URL": alertmanager}
    with (
        served_api(workspace, layout, environ) as base_url,
        browser_console(workspace, layout, base_url) as browser,
    ):
        yield browser


@pytest.fixture(autouse=True)
def no_console_errors(console: Browser) -> Iterator[None]:
    console.errors.clear()
    yield
    assert console.close_pages() == []


def test_create_and_expire_a_silence_from_the_console(console: Browser, alertmanager: str) -> None:  # noqa: F811
    page = console.page(ONCALL_SECRET, "Alerts", "Silences")
    page.get_by_role("button", name="Silence Stage4 alerts").click()
    confirm(page, "venue maintenance", "CHG-314")
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
    confirm(page, "maintenance over", "CHG-314")
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
    page = console.page(OBSERVER_SECRET, "Alerts", "Silences")
    page.locator("#silence-denied").wait_for()
    page.get_by_text("CHG-7: held").wait_for()  # listed, but not expirable with this token
    assert page.get_by_role("button", name="Silence Stage4 alerts").count() == 0
    assert page.get_by_role("button", name="Expire").count() == 0
    assert forced(page, OBSERVER_SECRET, "POST", "/v1/silences", {"reason": "r", "ticket": "T-1"}) == 403
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


def test_overview_counts_the_firing_alerts(console: Browser, alertmanager: str) -> None:  # noqa: F811
    """Firing: active in Alertmanager; an alert under a silence is listed but not counted."""
    now = datetime.now(UTC)

    def alert(name: str) -> dict[str, object]:
        return {
            "labels": {"alertname": name, "stage": "console-probe", "severity": "warning"},
            "startsAt": to_rfc3339(now - timedelta(minutes=1)),
            "endsAt": to_rfc3339(now + timedelta(hours=1)),
        }

    with AlertmanagerClient(alertmanager) as client:
        client.create_silence(
            (parse_matcher("alertname=ProbeSilenced"),), now, now + timedelta(hours=1), "ops", "CHG-9: probe"
        )
    posted = httpx.post(f"{alertmanager}/api/v2/alerts", json=[alert("ProbeFiring"), alert("ProbeSilenced")])
    assert posted.status_code == 200, posted.text
    page = console.page(OBSERVER_SECRET, "Overview")
    card = page.locator(".card", has_text="Firing alerts").locator(".big")
    wait_for(lambda: card.inner_text() == "1", 30, "one firing alert on the overview")
    page.get_by_role("button", name="Alerts", exact=True).click()
    alerts = page.get_by_role("table", name="Active alerts")
    alerts.get_by_role("cell", name="ProbeSilenced", exact=True).wait_for()
    rows = {r.split("\t")[0]: r for r in alerts.locator("tbody tr").all_inner_texts()}
    assert "active" in rows["ProbeFiring"] and "suppressed" in rows["ProbeSilenced"]
