"""The console's Incidents view in a real headless Chromium against a real `tradeops api serve`
process: open an incident, add a note and close it through the confirmation dialog (each action
names the decision-log entry it produced, signed with the token and the client certificate), with
the keyboard alone; a token without `incidents.write` sees no incident buttons and gets 403."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import playwright.sync_api  # noqa: F401  (a declared dev dependency: missing is an error, not a skip)
import pytest

from tests.integration.console_support import (
    CONSOLE_ENV,
    ONCALL_SECRET,
    OPERATOR_SECRET,
    Browser,
    add_operator_token,
    browser_console,
    confirm,
    forced,
    served_api,
    shot,
)
from tests.integration.test_control_api_support import OBSERVER_SECRET, make_workspace
from tradeops.control_api.tls import client_context
from tradeops.decision_log.reader import iter_entries

pytestmark = pytest.mark.slow

OPS_LOG = Path("audit/decision_logs/stage4.jsonl")
SEEDED = "INC-5150"  # opened through the API by the fixture (the read-only test looks at it)
INCIDENT_BUTTONS = ("Open incident", "Add note", "Close incident")


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    workspace, layout, _ca = make_workspace(tmp_path_factory.mktemp("console-incidents"))
    add_operator_token(workspace)
    with served_api(workspace, layout, CONSOLE_ENV) as base_url:
        cert, key = layout.client("operator")
        tls = client_context(layout.ca_cert, cert, key)
        auth = {"Authorization": f"Bearer {ONCALL_SECRET}"}
        with httpx.Client(base_url=base_url, verify=tls, headers=auth, timeout=30) as client:
            body = {"title": "order acks slow", "severity": "medium", "ticket": SEEDED}
            opened = client.post("/v1/incidents", json=body)
            assert opened.status_code == 201, opened.text
        with browser_console(workspace, layout, base_url) as browser:
            yield browser


@pytest.fixture(autouse=True)
def no_console_errors(console: Browser) -> Iterator[None]:
    console.errors.clear()
    yield
    assert console.close_pages() == []


def _incident_entries(workspace: Path, incident_id: str) -> list[dict[str, Any]]:
    return [
        e
        for _, e in iter_entries(workspace / OPS_LOG)
        if e["kind"] == "incident" and e["artefacts"]["incident_id"] == incident_id
    ]


def _done(page: Any, label: str) -> int:
    """Wait for the action's notice; the seq of the decision-log entry it names."""
    notice = page.locator("#notice").filter(has_text=f"{label}: done; decision-log entry seq")
    notice.wait_for()
    found = re.search(r"decision-log entry seq (\d+) ", notice.inner_text())
    assert found is not None, notice.inner_text()
    return int(found.group(1))


def _unlabelled(page: Any) -> list[str]:
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('#view input, #view select, #view textarea')]
                .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
                .map((el) => el.id || el.name)"""
        )
    )


def _tab_to(page: Any, element_id: str) -> None:
    """Press Tab (a bounded number of times) until the element has the focus."""
    for _ in range(60):
        if page.evaluate("document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"#{element_id} not reached with the Tab key")


def test_open_note_and_close_an_incident_with_the_keyboard(console: Browser) -> None:
    page = console.page(ONCALL_SECRET, "Incidents", "Open an incident")
    assert _unlabelled(page) == []
    page.locator("nav button").first.focus()
    _tab_to(page, "incident-title")
    page.keyboard.type("venue rejects new orders")
    _tab_to(page, "incident-severity")
    page.keyboard.press("ArrowUp")  # high -> critical
    _tab_to(page, "incident-ticket")
    page.keyboard.type("INC-7001")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("open incident INC-7001 (critical): venue rejects new orders").wait_for()
    assert dialog.get_by_label("Reason").is_hidden()  # the form already holds the why and the ticket
    page.keyboard.press("Enter")  # the dialog opens with Confirm focused
    opened = _done(page, "open incident INC-7001 (critical): venue rejects new orders")
    page.get_by_role("heading", name="INC-7001: venue rejects new orders").wait_for()
    assert (
        page.locator("#incident-status").inner_text().startswith("open, severity critical, ticket INC-7001")
    )

    assert _unlabelled(page) == []  # the note and close forms too
    _tab_to(page, "note-text")
    page.keyboard.type("the venue confirms a matching-engine fault")
    page.keyboard.press("Tab")  # a textarea takes Enter as a newline: submit with its button
    assert page.evaluate("document.activeElement.textContent") == "Add note"
    page.keyboard.press("Enter")
    confirm(page)
    noted = _done(page, "add a note to INC-7001: the venue confirms a matching-engine fault")
    notes = page.get_by_role("table", name="Notes")
    notes.get_by_text("the venue confirms a matching-engine fault").wait_for()
    assert "oncall" in notes.inner_text()  # by: the token's principal

    page.get_by_label("Resolution").select_option("mitigated")
    page.get_by_label("Summary").fill("orders routed to the backup venue")
    page.get_by_role("button", name="Close incident").click()
    confirm(page)
    closed = _done(page, "close INC-7001 as mitigated: orders routed to the backup venue")
    page.locator("#incident-status").filter(has_text="as mitigated").wait_for()
    assert page.get_by_role("button", name="Close incident").count() == 0  # closed: only notes remain
    assert page.get_by_role("button", name="Add note").count() == 1
    incidents = page.get_by_role("table", name="Incidents").inner_text()
    assert "closed: mitigated" in incidents
    timeline = page.get_by_role("table", name="Timeline").inner_text()
    assert "opened" in timeline and "noted" in timeline
    shot(page, "incidents-close", "INC-7001: venue rejects new orders", "as mitigated", "Add a note")

    entries = _incident_entries(console.workspace, "INC-7001")
    assert [(e["seq"], e["status"]) for e in entries] == [
        (opened, "opened"),
        (noted, "noted"),
        (closed, "closed"),
    ]
    for entry in entries:  # the same use case as the CLI, plus who came through the API
        meta = entry["metadata"]
        assert (meta["via"], meta["token_id"]) == ("api", "oncall") and meta["client_subject"], meta
    assert entries[1]["metadata"]["text"] == "the venue confirms a matching-engine fault"
    assert entries[2]["metadata"]["resolution"] == "mitigated"


def test_a_second_open_of_the_same_ticket_is_refused_on_the_page(console: Browser) -> None:
    page = console.page(ONCALL_SECRET, "Incidents", "Open an incident")
    page.get_by_label("Title").fill("order acks slow again")
    page.get_by_label("Incident ticket").fill(SEEDED)
    page.get_by_role("button", name="Open incident").click()
    confirm(page)
    page.locator("#notice").filter(
        has_text=f"refused (HTTP 409: incident {SEEDED} is already open"
    ).wait_for()
    console.errors.clear()  # the browser logs the refused request itself
    assert len(_incident_entries(console.workspace, SEEDED)) == 1


@pytest.mark.parametrize("token", [OBSERVER_SECRET, OPERATOR_SECRET], ids=["read-only", "schedule-write"])
def test_a_token_without_incidents_write_sees_no_buttons_and_gets_403(console: Browser, token: str) -> None:
    page = console.page(token, "Incidents")
    page.get_by_role("button", name=f"show incident {SEEDED}").click()
    page.get_by_role("heading", name=f"{SEEDED}: order acks slow").wait_for()
    page.locator("#incident-denied").wait_for()
    for name in INCIDENT_BUTTONS:
        assert page.get_by_role("button", name=name).count() == 0, name
    assert page.get_by_role("heading", name="Open an incident").count() == 0
    base = f"/v1/incidents/{SEEDED}"
    assert (
        forced(page, token, "POST", "/v1/incidents", {"title": "t", "severity": "low", "ticket": "T-1"})
        == 403
    )
    assert forced(page, token, "POST", f"{base}/notes", {"text": "x"}) == 403
    assert forced(page, token, "POST", f"{base}/close", {"status": "restored", "summary": "x"}) == 403
    console.errors.clear()  # the browser logs the refused requests itself
    assert [e["status"] for e in _incident_entries(console.workspace, SEEDED)] == ["opened"]
