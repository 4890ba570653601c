"""POST /v1/silences and DELETE /v1/silences/{id} against a real Alertmanager (API v2), through the
real control API (mTLS + token): the silence exists in Alertmanager, each change is a verified
decision-log entry naming the reason, the ticket and the token, and the scope `alerts.write` is
required."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.console_support import CONSOLE_ENV, ONCALL_SECRET, OPERATOR_SECRET, console_api
from tests.integration.test_control_api_support import OBSERVER_SECRET, RunningApi
from tests.integration.test_read_alerts import alertmanager  # noqa: F401 - the real Alertmanager fixture
from tradeops.observability.alertmanager import AlertmanagerClient


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, alertmanager: str) -> Iterator[RunningApi]:  # noqa: F811
    environ = {**CONSOLE_ENV, "TRADEOPS_ALERTMANAGER_URL": alertmanager}
    with console_api(tmp_path_factory.mktemp("silence-api"), environ=environ, seeded=False) as running:
        yield running


def ok(response: httpx.Response, code: int = 200) -> Any:
    assert response.status_code == code, response.text
    return response.json()


def test_create_and_expire_a_silence_in_a_real_alertmanager(api: RunningApi, alertmanager: str) -> None:  # noqa: F811
    oncall = api.client(token=ONCALL_SECRET)
    body = {"reason": "venue maintenance", "ticket": "CHG-901", "duration": "30m"}
    created = ok(oncall.post("/v1/silences", json=body), 201)
    assert created["state"] == "active" and created["ticket"] == "CHG-901"
    assert "stage=stage4" in created["matchers"]
    with AlertmanagerClient(alertmanager) as client:
        stored = client.get_silence(created["silence_id"])
    assert stored["status"]["state"] == "active"
    assert stored["comment"] == "CHG-901: venue maintenance" and stored["createdBy"] == "oncall"

    expired = ok(
        oncall.delete(f"/v1/silences/{created['silence_id']}", params={"reason": "done", "ticket": "CHG-901"})
    )
    assert expired["state"] == "expired" and expired["entry_seq"] == created["entry_seq"] + 1
    with AlertmanagerClient(alertmanager) as client:
        assert client.get_silence(created["silence_id"])["status"]["state"] == "expired"

    log = api.client(token=OBSERVER_SECRET).get(
        "/v1/decision-log/entries", params={"kind": "alert_silence", "ticket": "CHG-901"}
    )
    entries = ok(log)["items"]
    assert [(e["seq"], e["status"]) for e in entries] == [
        (expired["entry_seq"], "expired"),
        (created["entry_seq"], "silenced"),
    ]
    for entry in entries:
        assert entry["verification"] == "verified"
        assert entry["entry"]["artefacts"]["silence_id"] == created["silence_id"]
        assert entry["entry"]["metadata"]["token_id"] == "oncall"
        assert "operator" in entry["entry"]["metadata"]["client_subject"]
    assert [e["entry"]["metadata"]["reason"] for e in entries] == ["done", "venue maintenance"]


def test_silences_need_the_alerts_write_scope(api: RunningApi) -> None:
    body = {"reason": "r", "ticket": "CHG-1"}
    for secret in (OBSERVER_SECRET, OPERATOR_SECRET):
        client = api.client(token=secret)
        assert client.post("/v1/silences", json=body).status_code == 403
        assert client.delete("/v1/silences/abc", params=body).status_code == 403
    assert api.client().post("/v1/silences", json=body).status_code == 401


def test_a_silence_without_ticket_or_of_an_unknown_id_is_refused(api: RunningApi, alertmanager: str) -> None:  # noqa: F811
    oncall = api.client(token=ONCALL_SECRET)
    assert oncall.post("/v1/silences", json={"reason": "r"}).status_code == 422
    assert (
        oncall.post("/v1/silences", json={"reason": "r", "ticket": "T-1", "duration": "soon"}).status_code
        == 422
    )
    unknown = oncall.delete(
        "/v1/silences/00000000-0000-0000-0000-000000000000", params={"reason": "r", "ticket": "T-1"}
    )
    assert unknown.status_code == 400 and "Alertmanager refused" in unknown.json()["detail"]
    with AlertmanagerClient(alertmanager) as client:
        assert all(s["comment"] != "T-1: r" for s in client.silences())
