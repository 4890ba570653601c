"""The Grafana dashboard: committed file is the generated one, exported names only, the CLI writes it."""

from __future__ import annotations

import json
from pathlib import Path

from tradeops.cli.main import main
from tradeops.observability import dashboard
from tradeops.observability.metrics import queryable_names
from tradeops.observability.rules import PROMETHEUS_SERIES, referenced_metrics

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / dashboard.DASHBOARD_PATH


def test_committed_dashboard_equals_the_generated_one() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == dashboard.dashboard_json()


def test_title_uid_and_provider() -> None:
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert document["title"] == "Stage4 \u2013 Multi-Strategy Operations"
    assert document["uid"] == "stage4-multi"
    provider = (COMMITTED.parent / "stage4.yaml").read_text(encoding="utf-8")
    assert "type: file" in provider and "apiVersion: 1" in provider


def test_every_panel_query_uses_only_exported_metrics() -> None:
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    queries = dashboard.panel_queries(document)
    assert len(queries) >= 20
    allowed = queryable_names() | PROMETHEUS_SERIES
    for title, expr in queries:
        used = referenced_metrics(dashboard.substitute_variables(expr))
        assert used, f"{title}: selects no metric"
        assert used <= allowed, f"{title}: {sorted(used - allowed)}"


def test_panels_cover_the_operational_figures() -> None:
    exprs = " ".join(expr for _, expr in dashboard.panel_queries(json.loads(COMMITTED.read_text())))
    for metric in (
        "tradeops_override_active",
        "tradeops_strategy_denials_total",
        "tradeops_strategy_cycle_latency_seconds_bucket",
        "tradeops_strategy_pnl_divergence_ratio",
        "tradeops_resource_usage_ratio",
        "tradeops_exchange_errors_total",
        "tradeops_decision_log_backlog",
    ):
        assert metric in exprs


def test_cli_writes_and_checks_the_dashboard(tmp_path: Path) -> None:
    out = tmp_path / "d.json"
    assert main(["metrics", "dashboard", "--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == dashboard.dashboard_json()
    assert main(["metrics", "dashboard", "--output", str(out), "--check"]) == 0
    out.write_text("{}")
    assert main(["metrics", "dashboard", "--output", str(out), "--check"]) == 1
