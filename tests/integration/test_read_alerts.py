"""GET /v1/alerts' use case against a real Alertmanager (API v2): the active alerts and silences it
holds, and an unreachable one reported as an error (never as "no alerts")."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import free_port, require_binary
from tests.integration.test_prometheus_alertmanager import Process, is_ready, wait_until
from tradeops.bootstrap.ops import HttpAlertManager, OpsContext
from tradeops.config.load import load_config
from tradeops.observability.alertmanager import AlertmanagerClient, parse_matcher, to_rfc3339
from tradeops.ops.read_alerts import AlertsQuery, read_alerts
from tradeops.ops_ports.fakes import fake_ops_context

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = require_binary("prometheus-alertmanager")
    tmp = tmp_path_factory.mktemp("alertmanager")
    port = free_port()
    route = {"receiver": "null", "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"}
    (tmp / "am.yml").write_text(yaml.safe_dump({"route": route, "receivers": [{"name": "null"}]}))
    args = [
        binary,
        f"--config.file={tmp / 'am.yml'}",
        f"--storage.path={tmp / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    process = Process("alertmanager", args, tmp / "am.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until("alertmanager ready", functools.partial(_ready, url))
        yield url
    finally:
        process.stop()


def _ready(url: str) -> bool:
    try:
        return is_ready(url)
    except httpx.TransportError:
        return False


def context(url: str | None) -> OpsContext:
    """The in-memory ports, but the real Alertmanager adapter (read_alerts reads nothing else)."""
    ctx = fake_ops_context(load_config(REPO / "config" / "core.yaml"))
    ctx.alert_manager = HttpAlertManager()
    ctx.environ = {"TRADEOPS_ALERTMANAGER_URL": url} if url else {}
    return ctx


def test_alerts_and_silences_from_a_real_alertmanager(alertmanager: str) -> None:
    now = datetime.now(UTC)
    alert = {
        "labels": {"alertname": "TradeopsHeartbeatStale", "stage": "stage4", "severity": "critical"},
        "annotations": {"summary": "no heartbeat"},
        "startsAt": to_rfc3339(now - timedelta(minutes=1)),
        "endsAt": to_rfc3339(now + timedelta(hours=1)),
    }
    assert httpx.post(f"{alertmanager}/api/v2/alerts", json=[alert], timeout=5).status_code == 200
    with AlertmanagerClient(alertmanager) as client:
        silence_id = client.create_silence(
            (parse_matcher("alertname=OtherAlert"),),
            now,
            now + timedelta(hours=2),
            "ops",
            "INC-1 maintenance",
        )
    wait_until("the alert is active", lambda: bool(read_alerts(context(alertmanager), AlertsQuery()).alerts))
    view = read_alerts(context(alertmanager), AlertsQuery())
    assert view.configured and view.error is None and view.url == alertmanager
    assert [a["labels"]["alertname"] for a in view.alerts] == ["TradeopsHeartbeatStale"]
    assert [s["id"] for s in view.silences] == [silence_id]
    with AlertmanagerClient(alertmanager) as client:
        client.expire_silence(silence_id)
    assert read_alerts(context(alertmanager), AlertsQuery()).silences == ()
    expired = read_alerts(context(alertmanager), AlertsQuery(include_expired_silences=True)).silences
    assert [s["id"] for s in expired] == [silence_id]


def test_alertmanager_down_is_an_error_not_silence() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    view = read_alerts(context(url), AlertsQuery())
    assert view.configured and view.alerts == () and view.error is not None
    assert "unreachable" in view.error


def test_no_alertmanager_configured() -> None:
    view = read_alerts(context(None), AlertsQuery())
    assert (view.configured, view.url, view.error) == (False, None, None)
