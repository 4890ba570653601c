"""Alert rules: conventions, exported names only, unit-test coverage, and `tradeops alerts validate`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import require_binary
from tradeops.cli.main import main
from tradeops.observability import rules
from tradeops.observability.metrics import METRIC_NAMES, queryable_names
from tradeops.observability.validate import rule_test_coverage

REPO = Path(__file__).resolve().parents[2]
REQUIRED_ALERT_TOPICS = {
    "latency": "tradeops_strategy_cycle_latency_seconds_bucket",
    "drift": "tradeops_strategy_schedule_drift_seconds_bucket",
    "pnl divergence": "tradeops_strategy_pnl_divergence_ratio",
    "exchange failures": "tradeops_exchange_errors_total",
    "no fills": "tradeops_strategy_fills_total",
    "resource breach": "tradeops_resource_sustained_breach_seconds",
    "drawdown": "tradeops_strategy_drawdown_ratio",
    "kill switch": "tradeops_override_active",
    "malformed override": "tradeops_override_malformed",
    "exporter down": "up",
}


@pytest.fixture(scope="module")
def committed() -> list[rules.AlertRule]:
    return rules.load_rules(REPO / rules.RULES_FILE)


def test_referenced_metrics_skips_functions_labels_keywords_and_durations() -> None:
    expr = (
        'sum by (strategy, le) (rate(x_bucket{job="a", le=~"1|2"}[5m] offset 1h)) / on(strategy) '
        "group_left(reason) y_total > bool 1e3 and absent(z{a='b'}) unless w[5m:1m]"
    )
    assert rules.referenced_metrics(expr) == {"x_bucket", "y_total", "z", "w"}


def test_committed_rules_follow_the_conventions(committed: list[rules.AlertRule]) -> None:
    assert {r.group for r in committed} == {rules.GROUP_NAME}
    assert list(rules.rule_problems(committed, REPO, rules.RULES_FILE)) == []
    for rule in committed:
        assert rule.severity in ("critical", "warning")
        assert rule.labels["stage"] == ("safety" if rule.alert in rules.SAFETY_ALERTS else "stage4")
    assert {r.alert for r in committed} >= rules.SAFETY_ALERTS


def test_the_stage4_silence_matches_no_safety_alert(committed: list[rules.AlertRule]) -> None:
    from tradeops.config.load import load_config

    matchers = load_config(REPO / "config" / "core.yaml").observability.alertmanager.stage4_matchers
    covered = {r.alert for r in committed if all(r.labels.get(k) == v for k, v in matchers.items())}
    assert covered and not covered & rules.SAFETY_ALERTS
    assert "Stage4SchedulerLatencyHigh" in covered and "Stage4KillSwitchEngaged" in covered


def test_rules_cover_every_rollback_trigger_and_failure(committed: list[rules.AlertRule]) -> None:
    used = set().union(*(rules.referenced_metrics(r.expr) for r in committed))
    missing = {topic for topic, metric in REQUIRED_ALERT_TOPICS.items() if metric not in used}
    assert not missing
    divergence = next(r for r in committed if "pnl_divergence" in r.expr)
    assert divergence.expr.strip().endswith("> 3") and divergence.severity == "critical"
    breach = next(r for r in committed if "sustained_breach" in r.expr)
    assert breach.expr.strip().endswith("> 600")


def test_rule_problems_name_the_alert_and_what_is_wrong(tmp_path: Path) -> None:
    bad = rules.AlertRule(
        alert="Broken",
        expr="rate(bot_core_multi_strategy_latency_ms[5m]) > 1",
        for_="1m",
        labels={"severity": "info", "stage": "stage3"},
        annotations={"summary": "s", "description": "", "runbook_url": "docs/nope.md#x"},
    )
    problems = list(rules.rule_problems([bad, bad], tmp_path, Path("r.yml")))
    text = "\n".join(problems)
    assert "duplicate alert name" in text
    assert "missing label team" in text
    assert "severity 'info'" in text
    assert "stage label must be one of stage4, safety" in text
    assert "missing annotation description" in text
    assert "docs/nope.md does not exist" in text
    assert "bot_core_multi_strategy_latency_ms" in text


def test_runbook_anchor_must_be_a_heading(tmp_path: Path) -> None:
    (tmp_path / "run.md").write_text("# Title\n\n## When to roll back\n")
    assert rules.runbook_problem("run.md#when-to-roll-back", tmp_path) is None
    assert "no heading" in str(rules.runbook_problem("run.md#never", tmp_path))


def test_every_alert_fires_in_one_unit_test_and_stays_quiet_in_another() -> None:
    assert list(rule_test_coverage(REPO)) == []


def test_coverage_check_notices_an_alert_without_tests(tmp_path: Path) -> None:
    root = copy_alerting_tree(tmp_path)
    path = root / rules.RULES_FILE
    document = yaml.safe_load(path.read_text())
    document["groups"][0]["rules"].append(
        {
            "alert": "Stage4Untested",
            "expr": "tradeops_decision_log_backlog > 5",
            "labels": {"severity": "warning", "team": "platform", "stage": "stage4"},
        }
    )
    path.write_text(yaml.safe_dump(document))
    problems = list(rule_test_coverage(root))
    assert any("Stage4Untested fires" in p for p in problems)
    assert any("Stage4Untested stays quiet" in p for p in problems)


def test_histogram_suffixes_are_queryable_but_not_family_names() -> None:
    names = queryable_names()
    assert "tradeops_strategy_cycle_latency_seconds_bucket" in names
    assert "tradeops_strategy_cycle_latency_seconds_bucket" not in METRIC_NAMES
    assert "tradeops_strategy_signals_total_bucket" not in names


def copy_alerting_tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for part in (
        "deploy",
        "docs/runbooks",
        "tools/package.json",
        "tools/package-lock.json",
        "tools/actionlint.cjs",
    ):
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, root / part)
        else:
            (root / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / part)
    node_modules = REPO / "tools" / "node_modules"
    if node_modules.is_dir():
        (root / "tools" / "node_modules").symlink_to(node_modules)
    (root / ".github" / "workflows").mkdir(parents=True)
    shutil.copy2(REPO / ".github/workflows/stage4_multi_strategy.yml", root / ".github/workflows")
    return root


def test_validate_passes_on_the_repository(capsys: pytest.CaptureFixture[str]) -> None:
    require_binary("promtool")
    require_binary("amtool")
    assert main(["alerts", "validate", "--root", str(REPO)]) == 0
    out = capsys.readouterr().out
    assert "ok    promtool test rules" in out and "FAIL" not in out


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (
            lambda r: r.replace("tradeops_override_malformed == 1", "tradeops_override_broken == 1"),
            "tradeops_override_broken",
        ),
        (
            lambda r: r.replace(
                "tradeops_strategy_pnl_divergence_ratio > 3", "tradeops_strategy_pnl_divergence_ratio > 30"
            ),
            "promtool test rules",
        ),
        (
            lambda r: r.replace(
                "expr: tradeops_override_active == 1", "expr: tradeops_override_active == (1"
            ),
            "promtool check rules",
        ),
    ],
    ids=["unexported metric", "threshold no longer matches its tests", "syntax error"],
)
def test_validate_fails_with_the_first_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], breakage, expected: str
) -> None:
    require_binary("promtool")
    root = copy_alerting_tree(tmp_path)
    path = root / rules.RULES_FILE
    path.write_text(breakage(path.read_text()))
    assert main(["alerts", "validate", "--root", str(root)]) == 1
    captured = capsys.readouterr()
    assert expected in captured.out + captured.err
    assert captured.err.startswith("error: ")
