"""The read API over a real mTLS server and a store filled by a real paper run: every endpoint, its
filters and pagination, the scope table, live updates over SSE, and the writes' audit trail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.integration.console_support import (
    INCIDENT_TICKET,
    ONCALL_SECRET,
    OPERATOR_SECRET,
    STATUS_SECRET,
    console_api,
)
from tests.integration.test_control_api_support import OBSERVER_SECRET, RunningApi
from tradeops.control_api.rbac import ENDPOINT_SCOPES
from tradeops.decision_log.entry import line_hash
from tradeops.ops.rollback.state import STATE_PATH, RollbackState

STRATEGIES = {"daily_trend", "mean_reversion", "volatility_target", "cross_exchange"}
LISTS = (
    "/v1/positions",
    "/v1/orders",
    "/v1/fills",
    "/v1/decision-log/entries",
    "/v1/incidents",
    "/v1/load-tests",
)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    with console_api(tmp_path_factory.mktemp("read-api")) as running:
        yield running


@pytest.fixture(scope="module")
def observer(api: RunningApi) -> httpx.Client:
    return api.client(token=OBSERVER_SECRET)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def every_page(client: httpx.Client, path: str, limit: int, **params: object) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    offset: int | None = 0
    for _ in range(1000):  # bounded
        if offset is None:
            return items
        page = ok(client.get(path, params={**params, "limit": limit, "offset": offset}))
        items.extend(page["items"])
        offset = page["page"]["next_offset"]
    raise AssertionError("pagination did not end")


# --- portfolio --------------------------------------------------------------------------------------


def test_positions_are_per_strategy_with_marks_and_filters(observer: httpx.Client) -> None:
    page = ok(observer.get("/v1/positions"))
    assert page["items"], "the paper run leaves open positions"
    for item in page["items"]:
        assert item["strategy"] in STRATEGIES and Decimal(item["quantity"]) != 0
        assert item["mark_price"] is not None
    one = page["items"][0]["strategy"]
    mine = ok(observer.get("/v1/positions", params={"strategy": one}))["items"]
    assert mine and {i["strategy"] for i in mine} == {one}
    assert ok(observer.get("/v1/positions", params={"strategy": "nope"}))["items"] == []
    closed = ok(observer.get("/v1/positions", params={"include_closed": "true"}))
    assert closed["page"]["total"] >= page["page"]["total"]


def test_balances_name_the_account(observer: httpx.Client) -> None:
    items = ok(observer.get("/v1/balances"))["items"]
    assert {(b["account"], b["asset"]) for b in items} >= {("binance_paper", "USDT")}
    assert all(Decimal(b["amount"]) >= 0 for b in items)


def test_fills_paginate_without_gaps_or_repeats(observer: httpx.Client) -> None:
    whole = ok(observer.get("/v1/fills", params={"limit": 500}))
    assert whole["page"]["total"] > 3 and whole["page"]["next_offset"] is None
    paged = every_page(observer, "/v1/fills", 3)
    assert paged == whole["items"]
    times = [f["at"] for f in paged]
    assert times == sorted(times, reverse=True)  # newest first
    first = ok(observer.get("/v1/fills", params={"limit": 2}))["page"]
    assert first == {"total": whole["page"]["total"], "offset": 0, "limit": 2, "next_offset": 2}
    past = ok(observer.get("/v1/fills", params={"offset": 10_000}))
    assert past["items"] == [] and past["page"]["next_offset"] is None


def test_fills_filter_by_strategy_symbol_time_and_client_order_id(observer: httpx.Client) -> None:
    fills = ok(observer.get("/v1/fills", params={"limit": 500}))["items"]
    sample = fills[len(fills) // 2]
    by_strategy = every_page(observer, "/v1/fills", 500, strategy=sample["strategy"])
    assert by_strategy == [f for f in fills if f["strategy"] == sample["strategy"]]
    by_symbol = every_page(observer, "/v1/fills", 500, symbol=sample["symbol"])
    assert by_symbol == [f for f in fills if f["symbol"] == sample["symbol"]]
    by_id = ok(observer.get("/v1/fills", params={"client_order_id": sample["client_order_id"]}))["items"]
    assert by_id and {f["client_order_id"] for f in by_id} == {sample["client_order_id"]}
    orders = ok(observer.get("/v1/orders", params={"client_order_id": sample["client_order_id"]}))["items"]
    assert [o["client_order_id"] for o in orders] == [sample["client_order_id"]]
    cut = _ms(sample["at"])
    later = every_page(observer, "/v1/fills", 500, since_ms=cut)
    earlier = every_page(observer, "/v1/fills", 500, until_ms=cut - 1)
    assert later and all(_ms(f["at"]) >= cut for f in later)
    assert len(later) + len(earlier) == len(fills)


def _ms(iso: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def test_orders_open_and_recent(observer: httpx.Client) -> None:
    recent = ok(observer.get("/v1/orders", params={"limit": 500}))
    assert recent["page"]["total"] > 0
    assert {o["strategy"] for o in recent["items"]} <= STRATEGIES
    opened = ok(observer.get("/v1/orders", params={"open_only": "true", "limit": 500}))
    assert opened["page"]["total"] <= recent["page"]["total"]
    assert all(o["status"] == "open" for o in opened["items"])


def test_pnl_and_exposure_per_strategy_against_allocation(observer: httpx.Client) -> None:
    pnl = ok(observer.get("/v1/pnl"))
    schedules = {s["strategy"]: s for s in ok(observer.get("/v1/schedules"))["schedules"]}
    assert {s["strategy"] for s in pnl["strategies"]} == set(schedules)
    equity = Decimal(pnl["equity"])
    for row in pnl["strategies"]:
        assert row["allocation_ratio"] == schedules[row["strategy"]]["allocation"]
        allowed = Decimal(row["allocation_allowed"])
        assert abs(allowed - equity * Decimal(str(row["allocation_ratio"]))) < Decimal("0.000001")
        if allowed > 0:
            assert row["allocation_used_ratio"] == pytest.approx(float(Decimal(row["exposure"]) / allowed))
    positions = ok(observer.get("/v1/positions"))["items"]
    held = sum(Decimal(p["quantity"]) * Decimal(p["mark_price"]) for p in positions)
    cash = sum(
        Decimal(b["amount"]) for b in ok(observer.get("/v1/balances"))["items"] if b["asset"] == "USDT"
    )
    assert equity == cash + held
    exposure = {s["strategy"]: Decimal(s["exposure"]) for s in pnl["strategies"]}
    for name in STRATEGIES:
        mine = [p for p in positions if p["strategy"] == name]
        assert exposure[name] == sum(abs(Decimal(p["quantity"])) * Decimal(p["mark_price"]) for p in mine)
    one = ok(observer.get("/v1/pnl", params={"strategy": "daily_trend"}))["strategies"]
    assert [s["strategy"] for s in one] == ["daily_trend"]


def test_equity_curve_is_downsampled_and_ends_at_todays_equity(observer: httpx.Client) -> None:
    full = ok(observer.get("/v1/equity", params={"max_points": 5000}))
    small = ok(observer.get("/v1/equity", params={"max_points": 5}))
    fills = ok(observer.get("/v1/fills", params={"limit": 1}))["page"]["total"]
    assert full["source_points"] == fills == len(full["points"])
    assert len(small["points"]) == 5 and small["source_points"] == fills
    assert small["points"][0] == full["points"][0] and small["points"][-1] == full["points"][-1]
    assert Decimal(full["points"][-1]["equity"]) == Decimal(ok(observer.get("/v1/pnl"))["equity"])
    assert observer.get("/v1/equity", params={"max_points": 1}).status_code == 422


# --- state, decision log, incidents, load tests ----------------------------------------------------


def test_state_reports_requested_and_observed_kill_switch(api: RunningApi, observer: httpx.Client) -> None:
    state = ok(observer.get("/v1/state"))
    assert state["verdict"] == "no scheduler running"  # the seeding run has finished
    assert state["kill_switch"] == {"requested": False, "malformed": False, "observed": None, "overrides": []}
    assert state["heartbeat"] is not None and state["heartbeat"]["live"] is False
    assert state["file_mode_ok"] in (True, None)
    writer = api.client(token=ONCALL_SECRET)
    body = {"reason": "console test", "ticket": "CHG-1"}
    assert writer.post("/v1/override", json=body).status_code == 201
    engaged = ok(observer.get("/v1/state"))
    assert engaged["kill_switch"]["requested"] is True and engaged["new_orders_allowed"] is False
    assert writer.delete("/v1/override", params=body).status_code == 200
    assert ok(observer.get("/v1/state"))["kill_switch"]["requested"] is False


def test_decision_log_entries_are_verified_and_filtered(observer: httpx.Client) -> None:
    page = ok(observer.get("/v1/decision-log/entries", params={"log": "trading", "limit": 20}))
    assert page["chain_ok"] is True and page["page"]["total"] > 20
    assert {e["verification"] for e in page["items"]} == {"verified"}
    assert [e["line"] for e in page["items"]] == sorted((e["line"] for e in page["items"]), reverse=True)
    orders = ok(
        observer.get("/v1/decision-log/entries", params={"log": "trading", "kind": "order", "limit": 500})
    )
    assert orders["items"] and {e["kind"] for e in orders["items"]} == {"order"}
    strategy = orders["items"][0]["strategy"]
    mine = ok(
        observer.get(
            "/v1/decision-log/entries",
            params={"log": "trading", "kind": "order", "strategy": strategy, "status": "submitted"},
        )
    )
    assert mine["items"] and all(
        e["strategy"] == strategy and e["status"] == "submitted" for e in mine["items"]
    )
    oldest = ok(
        observer.get(
            "/v1/decision-log/entries", params={"log": "trading", "oldest_first": "true", "limit": 1}
        )
    )
    assert oldest["items"][0]["line"] == 1


def test_head_is_the_last_line_and_matches_the_anchor(api: RunningApi, observer: httpx.Client) -> None:
    head = ok(observer.get("/v1/decision-log/head", params={"log": "trading"}))
    path = api.workspace / head["path"]
    last = path.read_bytes().rstrip(b"\n").split(b"\n")[-1]
    assert head["verified"] is True and head["head"] == line_hash(last, "sha256")
    assert head["anchor"] is not None and head["anchor"]["head"] == head["head"]
    newest = ok(observer.get("/v1/decision-log/entries", params={"log": "trading", "limit": 1}))["items"][0]
    assert newest["hash"] == head["head"]


def test_writes_are_logged_with_token_id_and_client_subject(api: RunningApi, observer: httpx.Client) -> None:
    operator = api.client(token=OPERATOR_SECRET)
    body = {"reason": "feed lag", "ticket": "CHG-77"}
    assert operator.post("/v1/strategies/mean_reversion/disable", json=body).status_code == 200
    assert operator.post("/v1/strategies/mean_reversion/enable", json=body).status_code == 200
    found = ok(
        observer.get("/v1/decision-log/entries", params={"ticket": "CHG-77", "kind": "strategy_state"})
    )
    assert [e["status"] for e in found["items"]] == ["restored", "disabled"]  # newest first
    for entry in found["items"]:
        assert entry["verification"] == "verified" and entry["strategy"] == "mean_reversion"
        assert entry["entry"]["metadata"]["token_id"] == "operator"
        assert "operator" in entry["entry"]["metadata"]["client_subject"]


def test_incidents_with_timeline(observer: httpx.Client) -> None:
    listed = ok(observer.get("/v1/incidents", params={"open_only": "true"}))["items"]
    assert [i["id"] for i in listed] == [INCIDENT_TICKET]
    assert listed[0]["status"] == "open" and listed[0]["timeline"] == []
    one = ok(observer.get(f"/v1/incidents/{INCIDENT_TICKET}"))
    assert one["title"] == "fills lag the venue" and one["severity"] == "high"
    assert one["timeline"] and any(t["kind"] == "incident" for t in one["timeline"])
    assert observer.get("/v1/incidents/INC-0000").status_code == 404


def test_load_test_reports_newest_first(api: RunningApi, observer: httpx.Client) -> None:
    directory = api.workspace / "logs" / "load_tests"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "older.json").write_text(json.dumps({"resource_status": "ok", "orders": 3}))
    (directory / "broken.json").write_text("{not json")
    import os

    os.utime(directory / "older.json", (1_700_000_000, 1_700_000_000))
    os.utime(directory / "broken.json", (1_700_000_100, 1_700_000_100))
    page = ok(observer.get("/v1/load-tests"))
    assert [r["name"] for r in page["items"]] == ["broken.json", "older.json"]
    assert page["items"][1]["summary"] == {"resource_status": "ok", "orders": 3}
    assert page["items"][0]["summary"] == {"error": "not a JSON report"}


def test_alerts_not_configured_says_so(observer: httpx.Client) -> None:
    view = ok(observer.get("/v1/alerts"))
    assert view == {"configured": False, "url": None, "error": None, "alerts": [], "silences": []}


def test_rollback_checklist_progress(api: RunningApi, observer: httpx.Client) -> None:
    assert ok(observer.get("/v1/rollback"))["present"] is False
    state = RollbackState(
        "INC-77", "bad fills", "l2-ops", "strategy", "mean_reversion", "2026-03-01T12:00:00+00:00"
    )
    state.record("confirm", {"confirmed": True})
    state.save(api.workspace / STATE_PATH)
    view = ok(observer.get("/v1/rollback"))
    assert (view["present"], view["ticket"], view["status"], view["next_step"]) == (
        True,
        "INC-77",
        "in_progress",
        "secure_context",
    )
    assert [s["step"] for s in view["steps"] if s["done"]] == ["confirm"]
    assert view["steps"][0]["result"] == {"confirmed": True}
    assert {s["phase"] for s in view["steps"]} == {"rollback", "restore"}


# --- scopes, OpenAPI --------------------------------------------------------------------------------


def test_every_read_endpoint_needs_a_token_and_its_scope(api: RunningApi) -> None:
    anonymous = api.client()
    status_only = api.client(token=STATUS_SECRET)
    for (method, path), scope in ENDPOINT_SCOPES.items():
        if method != "GET" or "{" in path or path == "/v1/events":
            continue
        assert anonymous.get(path).status_code == 401, path
        expected = 200 if scope == "runtime.schedule.read" else 403
        assert status_only.get(path).status_code == expected, path


def test_operator_without_override_scope_cannot_engage(api: RunningApi) -> None:
    operator = api.client(token=OPERATOR_SECRET)
    response = operator.post("/v1/override", json={"reason": "x", "ticket": "CHG-2"})
    assert response.status_code == 403 and "runtime.override.write" in response.json()["detail"]
    observer = api.client(token=OBSERVER_SECRET)
    assert (
        observer.post("/v1/strategies/daily_trend/disable", json={"reason": "x", "ticket": "T"}).status_code
        == 403
    )
    me = ok(operator.get("/v1/whoami"))
    assert me["token_id"] == "operator" and "runtime.override.write" not in me["scopes"]
    assert "operator" in me["client_subject"]


def test_read_endpoints_are_in_the_openapi_document_with_pagination(api: RunningApi) -> None:
    paths = ok(api.client().get("/openapi.json"))["paths"]
    reads = {p for (m, p) in ENDPOINT_SCOPES if m == "GET"}
    assert reads <= set(paths)
    for path in LISTS:
        names = {p["name"] for p in paths[path]["get"]["parameters"]}
        assert {"limit", "offset"} <= names, path


# --- live updates -----------------------------------------------------------------------------------


def read_events(response: httpx.Response, wanted: int) -> list[tuple[str, Any]]:
    frames: list[tuple[str, Any]] = []
    name = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: ") and name is not None:
            frames.append((name, json.loads(line[6:])))
            if len(frames) >= wanted:
                break
    return frames


def test_sse_sends_state_then_the_kill_switch_change(api: RunningApi) -> None:
    observer = api.client(token=OBSERVER_SECRET)
    writer = api.client(token=ONCALL_SECRET)
    body = {"reason": "sse test", "ticket": "CHG-3"}
    params: dict[str, Any] = {"interval_s": 0.1, "max_events": 3}
    with observer.stream("GET", "/v1/events", params=params) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        first = _next_event(lines)
        assert first[0] == "state" and first[1]["kill_switch"]["requested"] is False
        assert writer.post("/v1/override", json=body).status_code == 201
        try:
            changes = [_next_event(lines) for _ in range(2)]
        finally:
            writer.delete("/v1/override", params=body)
    states = [data for kind, data in changes if kind == "state"]
    assert any(s["kill_switch"]["requested"] is True for s in states)


def _next_event(lines: Iterator[str]) -> tuple[str, Any]:
    name = None
    for _ in range(10_000):  # bounded
        line = next(lines)
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: ") and name is not None:
            return name, json.loads(line[6:])
    raise AssertionError("no event")


def test_sse_needs_a_token(api: RunningApi) -> None:
    assert api.client().get("/v1/events", params={"max_events": 1}).status_code == 401


# --- last: tampering (changes the log) ---------------------------------------------------------------


def test_a_tampered_entry_is_failed_and_the_rest_unverified(api: RunningApi, observer: httpx.Client) -> None:
    path = api.workspace / "audit" / "decision_logs" / "binance_paper.jsonl"
    lines = path.read_bytes().split(b"\n")
    middle = len(lines) // 2
    lines[middle] = lines[middle].replace(b'"status":"', b'"status":"x', 1)
    path.write_bytes(b"\n".join(lines))
    page = ok(
        observer.get(
            "/v1/decision-log/entries", params={"log": "trading", "oldest_first": "true", "limit": 500}
        )
    )
    assert page["chain_ok"] is False
    marks = {
        e["line"]: e["verification"]
        for e in every_page(observer, "/v1/decision-log/entries", 500, log="trading", oldest_first="true")
    }
    bad = middle + 1
    assert marks[bad] == "failed"
    assert {v for line, v in marks.items() if line < bad} == {"verified"}
    assert {v for line, v in marks.items() if line > bad} == {"unverified"}
    head = ok(observer.get("/v1/decision-log/head", params={"log": "trading"}))
    assert head["verified"] is False and head["first_error_line"] == bad
