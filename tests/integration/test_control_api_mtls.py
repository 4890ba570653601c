"""A real uvicorn server with mTLS: handshakes refused without a valid client certificate, 401/403
from the scope table, and writes that change state and land in the decision log with their actor."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.test_control_api_support import (
    OBSERVER_SECRET,
    SCHEDULER_SECRET,
    RunningApi,
    running_api,
)
from tradeops.control_api.server import MtlsH11Protocol
from tradeops.decision_log.keys import resolve_signing_key
from tradeops.decision_log.reader import iter_entries
from tradeops.decision_log.verify import verify_file
from tradeops.security.certs import issue_ca

BODY = {"reason": "spread feed broken", "ticket": "INC-9"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    with running_api(tmp_path_factory.mktemp("control-api")) as running:
        yield running


def operations_entries(api: RunningApi) -> list[dict[str, object]]:
    path = api.workspace / api.ctx.cfg.decision_log.operations_log
    return [entry for _, entry in iter_entries(path)] if path.exists() else []


# --- TLS ------------------------------------------------------------------------------------------


def test_valid_client_certificate_gets_through(api: RunningApi) -> None:
    response = api.client().get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_no_client_certificate_is_refused_in_the_handshake(api: RunningApi) -> None:
    with pytest.raises(httpx.TransportError):
        api.client(cert=None).get("/health")


def test_client_certificate_from_another_ca_is_refused(api: RunningApi) -> None:
    name = api.issue("intruder", ca=issue_ca("someone else's CA"))
    with pytest.raises(httpx.TransportError):
        api.client(cert=name).get("/health")


def test_expired_client_certificate_is_refused(api: RunningApi) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    name = api.issue("expired-operator", now=past, days=2)
    with pytest.raises(httpx.TransportError):
        api.client(cert=name).get("/health")


def tls12_handshake(api: RunningApi, client: str | None) -> None:
    """A raw TLS 1.2 handshake (in 1.2 the client only finishes after the server accepted it)."""
    context = api.tls(client)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    port = int(api.base_url.rsplit(":", 1)[1])
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1"),
    ):
        pass


def test_tls12_handshake_itself_fails_for_every_bad_client_certificate(api: RunningApi) -> None:
    tls12_handshake(api, "operator")  # the good certificate completes it
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    bad = [
        None,
        api.issue("stranger", ca=issue_ca("another CA")),
        api.issue("stale", now=past, days=2),
    ]
    for client in bad:
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            tls12_handshake(api, client)


def test_tls_below_1_2_is_refused(api: RunningApi) -> None:
    context = api.tls()
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(httpx.TransportError), httpx.Client(base_url=api.base_url, verify=context) as client:
        client.get("/health")


# --- tokens and scopes ----------------------------------------------------------------------------


def test_missing_token_is_401_with_bearer_challenge(api: RunningApi) -> None:
    response = api.client().get("/v1/status")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_token_is_401(api: RunningApi) -> None:
    assert api.client(token="not-a-configured-secret").get("/v1/status").status_code == 401


def test_token_without_the_scope_is_403_and_changes_nothing(api: RunningApi) -> None:
    before = len(operations_entries(api))
    response = api.client(token=OBSERVER_SECRET).post("/v1/strategies/mean_reversion/disable", json=BODY)
    assert response.status_code == 403
    assert "runtime.schedule.write" in response.json()["detail"]
    status = api.ctx.store.strategy_statuses().get("mean_reversion")
    assert status is None or not status.disabled
    assert len(operations_entries(api)) == before


def test_observer_reads_but_scheduler_token_lacks_audit_read(api: RunningApi) -> None:
    observer = api.client(token=OBSERVER_SECRET)
    for path in ("/v1/status", "/v1/schedules", "/v1/trading-state", "/v1/decision-log/recent?n=5"):
        assert observer.get(path).status_code == 200, path
    assert api.client(token=SCHEDULER_SECRET).get("/v1/decision-log/recent").status_code == 403


# --- writes ---------------------------------------------------------------------------------------


def test_disable_with_the_right_token_disables_and_logs_token_and_subject(api: RunningApi) -> None:
    client = api.client(token=SCHEDULER_SECRET)
    response = client.post("/v1/strategies/cross_exchange/disable", json=BODY | {"duration_minutes": 60})
    assert response.status_code == 200
    body = response.json()
    assert body["strategy"] == "cross_exchange" and body["disabled"] is True and body["until"]

    stored = api.ctx.store.strategy_statuses()["cross_exchange"]
    assert stored.disabled and stored.reason == BODY["reason"] and stored.ticket == BODY["ticket"]
    last = operations_entries(api)[-1]
    assert last["status"] == "disabled"
    assert last["artefacts"]["strategy"] == "cross_exchange"
    assert last["metadata"]["token_id"] == "scheduler-local"
    assert last["metadata"]["client_subject"] == "CN=operator,O=tradeops"
    assert last["metadata"]["via"] == "api"
    assert last["metadata"]["risk_budget_bucket"] == "manual"

    schedules = {row["schedule"]: row for row in client.get("/v1/schedules").json()["schedules"]}
    if "cross_exchange" in schedules:
        assert schedules["cross_exchange"]["allocation"] == 0.0
    recent = api.client(token=OBSERVER_SECRET).get("/v1/decision-log/recent", params={"n": 1}).json()
    assert recent["entries"][-1]["metadata"]["token_id"] == "scheduler-local"

    enabled = client.post("/v1/strategies/cross_exchange/enable", json=BODY)
    assert enabled.status_code == 200 and enabled.json()["disabled"] is False
    assert not api.ctx.store.strategy_statuses()["cross_exchange"].disabled
    assert operations_entries(api)[-1]["status"] == "restored"


def test_unknown_strategy_is_404_and_bad_body_is_422(api: RunningApi) -> None:
    client = api.client(token=SCHEDULER_SECRET)
    assert client.post("/v1/strategies/no_such_strategy/disable", json=BODY).status_code == 404
    assert client.post("/v1/strategies/daily_trend/disable", json={"reason": ""}).status_code == 422


def test_override_create_conflict_and_remove(api: RunningApi) -> None:
    client = api.client(token=SCHEDULER_SECRET)
    created = client.post("/v1/override", json=BODY | {"requested_by": "l2-ops"})
    assert created.status_code == 201
    path = Path(created.json()["path"])
    assert (api.workspace / path).exists() or path.exists()
    assert created.json()["document"]["requested_by"] == "l2-ops"

    state = api.client(token=OBSERVER_SECRET).get("/v1/trading-state").json()
    assert state["override_active"] is True and state["new_orders_allowed"] is False
    view = api.client(token=OBSERVER_SECRET).get("/v1/status").json()
    assert view["requested_status"] == "disabled" and view["status"] == "no scheduler running"

    assert client.post("/v1/override", json=BODY).status_code == 409
    logged = operations_entries(api)[-1]
    assert logged["kind"] == "override" and logged["status"] == "disabled"
    assert logged["metadata"]["client_subject"] == "CN=operator,O=tradeops"

    removed = client.delete("/v1/override", params={"reason": "feed fixed"})
    assert removed.status_code == 200 and removed.json() == {"removed": True}
    assert client.delete("/v1/override").json() == {"removed": False}
    assert api.client(token=OBSERVER_SECRET).get("/v1/trading-state").json()["override_active"] is False
    assert operations_entries(api)[-1]["status"] == "enabled"


def test_override_carries_the_policy_asked_for(api: RunningApi) -> None:
    """positions and cancel_open_orders: the CLI's --positions and --keep-open-orders."""
    client = api.client(token=SCHEDULER_SECRET)
    bad = client.post("/v1/override", json=BODY | {"positions": "sell_everything"})
    assert bad.status_code == 422
    created = client.post("/v1/override", json=BODY | {"positions": "flatten", "cancel_open_orders": False})
    assert created.status_code == 201, created.text
    try:
        assert created.json()["document"]["on_disable"] == {
            "cancel_open_orders": False,
            "positions": "flatten",
        }
        state = api.client(token=OBSERVER_SECRET).get("/v1/state").json()
        (override,) = [o for o in state["kill_switch"]["overrides"] if o["active"]]
        assert override["on_disable"] == {"cancel_open_orders": False, "positions": "flatten"}
    finally:
        assert client.delete("/v1/override", params={"reason": "policy checked"}).status_code == 200


def test_every_api_write_is_a_valid_signed_entry(api: RunningApi) -> None:
    api.client(token=SCHEDULER_SECRET).post("/v1/strategies/daily_trend/disable", json=BODY)
    path = api.workspace / api.ctx.cfg.decision_log.operations_log
    key = resolve_signing_key(key=None, key_file=None, key_id=None, environ=api.ctx.environ)
    assert key is not None
    report = verify_file(path, keyring={key.key_id: key})
    assert report.ok, report


def test_config_apply_needs_the_write_scope_and_records_the_change(api: RunningApi) -> None:
    """No scheduler runs beside this API: the change is recorded and applies at the next start."""
    body = {"reason": "allocation review", "ticket": "INC-9"}
    assert api.client(token=OBSERVER_SECRET).post("/v1/config/apply", json=body).status_code == 403
    response = api.client(token=SCHEDULER_SECRET).post("/v1/config/apply", json=body)
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["status"] == "recorded" and view["config_sha384"].startswith("sha384:")
    entry = operations_entries(api)[-1]
    assert (entry["kind"], entry["status"]) == ("config_change", "recorded")
    assert entry["artefacts"]["request_id"] == view["request_id"]
    assert entry["metadata"]["via"] == "api"
    bad = api.client(token=SCHEDULER_SECRET).post("/v1/config/apply", json=body | {"from_git": "--x"})
    assert bad.status_code == 400 and "not a commit name" in bad.json()["detail"]


def test_get_strategy_is_the_same_view_as_strategy_show(api: RunningApi) -> None:
    """The example of the ops-command recipe (docs/architecture.md): one use case, two doors."""
    from tradeops.ops.strategy_control import ShowStrategy, show

    changed = api.client(token=SCHEDULER_SECRET).post(
        "/v1/strategies/volatility_target/disable", json=BODY | {"duration_minutes": 60}
    )
    assert changed.status_code == 200, changed.text
    shown = api.client(token=OBSERVER_SECRET).get("/v1/strategies/volatility_target")
    assert shown.status_code == 200, shown.text
    view = shown.json()
    assert view == show(api.ctx, ShowStrategy("volatility_target")).to_json()
    assert view["disabled"] is True and view["allocation"] == 0.0 and view["until"] == changed.json()["until"]
    unknown = api.client(token=OBSERVER_SECRET).get("/v1/strategies/grid_bot")
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "unknown strategy 'grid_bot'"})


def test_h11_fallback_protocol_also_records_the_client_subject(tmp_path: Path) -> None:
    with running_api(tmp_path, protocol=MtlsH11Protocol) as api:
        response = api.client(token=SCHEDULER_SECRET).post("/v1/strategies/daily_trend/disable", json=BODY)
        assert response.status_code == 200
        assert operations_entries(api)[-1]["metadata"]["client_subject"] == "CN=operator,O=tradeops"
