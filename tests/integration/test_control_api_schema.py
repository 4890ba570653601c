"""schemathesis against the served OpenAPI document, over mTLS, for the read endpoints: every
response must match its declared status code and schema. Bounded and derandomized. (The incident
writes have theirs in test_incident_writes_api.py, with a token that may write.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.integration.test_control_api_support import OBSERVER_SECRET, RunningApi, running_api
from tradeops.control_api.app import create_app
from tradeops.control_api.rbac import ENDPOINT_SCOPES

AUTH = {"Authorization": f"Bearer {OBSERVER_SECRET}"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    with running_api(tmp_path_factory.mktemp("control-api-schema")) as running:
        yield running


def _tls_kwargs(api: RunningApi) -> dict[str, Any]:
    cert, key = api.layout.client("operator")
    return {"verify": str(api.layout.ca_cert), "cert": (str(cert), str(key))}


@pytest.fixture(scope="module")
def session(api: RunningApi) -> Iterator[requests.Session]:
    with requests.Session() as http:
        kwargs = _tls_kwargs(api)
        http.verify, http.cert = kwargs["verify"], kwargs["cert"]
        http.headers.update(AUTH)
        yield http


@pytest.fixture(scope="module")
def api_schema(api: RunningApi) -> Any:
    return schemathesis.openapi.from_url(f"{api.base_url}/openapi.json", **_tls_kwargs(api))


def _no_context() -> Any:
    raise AssertionError("the document needs no context")


STREAMS = {"/v1/events"}  # never ends by itself: tests/integration/test_read_api.py reads it
READ_PATHS = sorted(
    path
    for path, ops in create_app(_no_context).openapi()["paths"].items()
    if "get" in ops and path not in STREAMS  # /v1/incidents also takes POST (opening one)
)
assert "/v1/incidents" in READ_PATHS


@pytest.mark.parametrize("path", READ_PATHS)
def test_read_endpoint_matches_the_document(
    path: str, api: RunningApi, api_schema: Any, session: requests.Session
) -> None:
    operation = api_schema[path]["GET"]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=15,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        response = case.call_and_validate(session=session, **_tls_kwargs(api))
        # authenticated, valid input; a path naming a resource may name one that does not exist
        assert response.status_code in ({200, 404} if "{" in path else {200}), response.text

    check()


def test_the_document_declares_auth_failures_on_every_v1_operation(api: RunningApi) -> None:
    document = requests.get(f"{api.base_url}/openapi.json", timeout=10, **_tls_kwargs(api)).json()
    v1 = [(p, m, op) for p, ops in document["paths"].items() if p.startswith("/v1/") for m, op in ops.items()]
    assert len(v1) == len(ENDPOINT_SCOPES)  # with POST /v1/config/apply and the read API
    for path, method, operation in v1:
        assert {"200", "401", "403"} <= set(operation["responses"]) or {"201", "401", "403"} <= set(
            operation["responses"]
        ), (method, path)
        assert operation["security"] == [{"HTTPBearer": []}], (method, path)
    assert Path(api.layout.ca_cert).exists()


def test_cli_prints_the_served_document(api: RunningApi, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from tradeops.cli.main import main

    served = requests.get(f"{api.base_url}/openapi.json", timeout=10, **_tls_kwargs(api)).json()
    assert main(["api", "openapi"]) == 0
    assert json.loads(capsys.readouterr().out) == served
