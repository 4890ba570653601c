"""Dashboard snapshots in an incident bundle: a real Prometheus scrapes a real scheduler, the bundle
draws one PNG per panel of the shipped Stage4 dashboard from the panels' own queries."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.conftest import free_port
from tests.integration.live import TRADEOPS, Scheduler, run, scratch_repo, signing_env, wait_for
from tests.integration.test_prometheus_alertmanager import Process, start_services, wait_until
from tradeops.observability.dashboard import dashboard_json
from tradeops.observability.snapshots import panels

pytestmark = [pytest.mark.services, pytest.mark.slow]
TICKET = "INC-900"
WITH_DATA = (
    "Kill switch",
    "Equity",
    "Signals, orders and fills per minute",
    "Allocation used and allowed (quote)",
    "Realized and unrealized PnL (quote)",
    "Memory and its budget",
)


def _samples(prometheus_url: str) -> int:
    query = {"query": "count_over_time(tradeops_equity_quote[1m])"}
    result = httpx.get(f"{prometheus_url}/api/v1/query", params=query, timeout=5).json()["data"]["result"]
    return int(result[0]["value"][1]) if result else 0


def test_bundle_draws_every_panel_from_prometheus_over_the_incident_window(tmp_path: Path) -> None:
    root = scratch_repo(tmp_path / "repo")
    env = signing_env(tmp_path)
    port = free_port()
    processes: list[Process] = []
    scheduler = Scheduler(root, env, extra=["--metrics-port", str(port)])
    try:
        wait_for(lambda: len(scheduler.orders()) >= 1, 60, "the scheduler to trade")
        prometheus_url, _ = start_services(tmp_path, port, processes)
        config = root / "config" / "core.yaml"
        config.write_text(
            config.read_text()
            .replace("  prometheus:\n    url: null", f"  prometheus:\n    url: {prometheus_url}")
            .replace("scrape_interval_seconds: 15", "scrape_interval_seconds: 1")
        )
        tradeops = [str(TRADEOPS), "incident"]
        opened = run(
            [*tradeops, "open", "--title", "drill", "--severity", "low", "--ticket", TICKET], root, env
        )
        assert opened.returncode == 0, opened.stderr
        time.sleep(1)
        wait_until("a few scrapes inside the window", lambda: _samples(prometheus_url) >= 6)
        closed = run([*tradeops, "close", TICKET, "--status", "mitigated"], root, env)
        assert closed.returncode == 0, closed.stdout + closed.stderr
    finally:
        scheduler.stop()
        for process in reversed(processes):
            process.stop()

    bundle = root / "logs" / "incidents" / TICKET
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["unavailable"] == []
    index = json.loads((bundle / "dashboard" / "index.json").read_text())
    shipped = list(panels(json.loads(dashboard_json())))
    assert [p["title"] for p in index["panels"]] == [p["title"] for p in shipped]  # one per panel
    pngs = sorted((bundle / "dashboard").glob("*.png"))
    assert len(pngs) == len(shipped)
    for png in pngs:
        assert f"dashboard/{png.name}" in manifest["files"]
        with Image.open(png) as image:
            assert image.format == "PNG" and image.size == (900, 360)
    assert all(not p["problems"] for p in index["panels"]), index["panels"]  # every query answered
    by_title = {p["title"]: p for p in index["panels"]}
    for title in WITH_DATA:
        assert by_title[title]["series"] > 0 and by_title[title]["points"] > 0, by_title[title]
        assert by_title[title]["problems"] == []
    with Image.open(bundle / "dashboard" / by_title["Equity"]["file"]) as image:
        assert len(image.convert("RGB").getcolors(maxcolors=100_000) or ()) > 3  # a drawn line, not a blank
    assert run([str(TRADEOPS), "incident", "verify", TICKET], root, env).returncode == 0
