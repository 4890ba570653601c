"""Read the Prometheus alert rules and check them against what the exporter publishes.

`rule_problems()` is the project's own lint on top of `promtool check rules`: required labels and
annotations, a runbook link that resolves to a heading in this repository, and expressions that only
use exported metric names (`METRIC_NAMES`, histogram suffixes, and Prometheus' own `up`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tradeops.domain.errors import UserInputError
from tradeops.observability.metrics import queryable_names

RULES_DIR = Path("deploy/prometheus/rules")
RULES_FILE = RULES_DIR / "multi_strategy_rules.yml"
RULE_TESTS_DIR = Path("deploy/prometheus/tests")
GROUP_NAME = "multi_strategy_runtime"
SEVERITIES = ("critical", "warning")
REQUIRED_LABELS = ("severity", "team", "stage")
REQUIRED_ANNOTATIONS = ("summary", "description", "runbook_url")
MAINTENANCE_STAGE = "stage4"  # the Stage4 silence (observability.alertmanager.stage4_matchers) covers these
SAFETY_STAGE = "safety"  # never covered by a maintenance silence
STAGES = (MAINTENANCE_STAGE, SAFETY_STAGE)
# Alerts that must stay loud through any maintenance silence.
SAFETY_ALERTS = frozenset(
    {
        "Stage4KillSwitchOverrideMalformed",
        "Stage4StateLogMismatch",
        "Stage4StateStoreUnwritable",
        "Stage4DecisionLogWriteFailing",
        "Stage4MetricsExporterDown",
        "Stage4MetricsExporterAbsent",
        "Stage4SchedulerStalled",
    }
)
PROMETHEUS_SERIES = frozenset({"up"})

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_BRACES = re.compile(r"\{[^{}]*\}")
_BRACKETS = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENT = re.compile(r"(?<![\w.:])([a-zA-Z_:][\w:]*)")
_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"}
    | {"group_left", "group_right", "inf", "nan", "start", "end", "atan2"}
)


@dataclass(frozen=True, slots=True)
class AlertRule:
    alert: str
    expr: str
    for_: str | None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    group: str = ""

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")


def referenced_metrics(expr: str) -> set[str]:
    """Metric names an expression selects (functions, keywords and label names excluded)."""
    text = _STRING.sub(" ", expr)
    while True:  # nested braces cannot occur, but matchers may follow each other
        stripped = _BRACKETS.sub(" ", _BRACES.sub(" ", text))
        if stripped == text:
            break
        text = stripped
    text = _GROUPING.sub(" ", text)
    names = set()
    for match in _IDENT.finditer(text):
        word = match.group(1)
        following = text[match.end() :].lstrip()
        if following.startswith("(") or word.lower() in _KEYWORDS:
            continue
        names.add(word)
    return names


def load_rules(path: Path) -> list[AlertRule]:
    """Alert rules of one rules file (recording rules are ignored)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UserInputError(f"rules file {path} not found: run from the repository root") from exc
    except yaml.YAMLError as exc:
        raise UserInputError(f"{path}: not valid YAML ({exc})") from exc
    rules = []
    for group in (document or {}).get("groups", []) or []:
        for raw in group.get("rules", []) or []:
            if "alert" not in raw:
                continue
            rules.append(
                AlertRule(
                    alert=str(raw["alert"]),
                    expr=str(raw.get("expr", "")),
                    for_=str(raw["for"]) if raw.get("for") is not None else None,
                    labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
                    annotations={str(k): str(v) for k, v in (raw.get("annotations") or {}).items()},
                    group=str(group.get("name", "")),
                )
            )
    return rules


def heading_anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(markdown: Path) -> set[str]:
    anchors = set()
    for line in markdown.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            anchors.add(heading_anchor(line.lstrip("#")))
    return anchors


def runbook_problem(url: str, root: Path) -> str | None:
    """Why a runbook_url does not resolve (None when it does). http(s) links are not fetched."""
    if url.startswith(("http://", "https://")):
        return None
    path, _, anchor = url.partition("#")
    target = root / path
    if not target.is_file():
        return f"runbook_url {url!r}: {path} does not exist"
    if anchor and anchor not in _anchors(target):
        return f"runbook_url {url!r}: no heading with anchor #{anchor} in {path}"
    return None


def rule_problems(rules: list[AlertRule], root: Path, path: Path) -> Iterator[str]:
    """Every problem of the project's rule conventions, as `file: alert: message` lines."""
    allowed = queryable_names() | PROMETHEUS_SERIES
    seen: set[str] = set()
    for rule in rules:
        where = f"{path}: {rule.alert}"
        if rule.alert in seen:
            yield f"{where}: duplicate alert name"
        seen.add(rule.alert)
        for label in REQUIRED_LABELS:
            if not rule.labels.get(label):
                yield f"{where}: missing label {label}"
        if rule.labels.get("severity") and rule.severity not in SEVERITIES:
            yield f"{where}: severity {rule.severity!r} is not one of {', '.join(SEVERITIES)}"
        stage = rule.labels.get("stage")
        if stage and stage not in STAGES:
            yield f"{where}: stage label must be one of {', '.join(STAGES)}, got {stage!r}"
        if rule.alert in SAFETY_ALERTS and stage != SAFETY_STAGE:
            yield f"{where}: a safety alert must carry stage={SAFETY_STAGE} (no maintenance silence mutes it)"
        for annotation in REQUIRED_ANNOTATIONS:
            if not rule.annotations.get(annotation, "").strip():
                yield f"{where}: missing annotation {annotation}"
        runbook = rule.annotations.get("runbook_url")
        problem = runbook_problem(runbook, root) if runbook else None
        if problem:
            yield f"{where}: {problem}"
        unknown = sorted(referenced_metrics(rule.expr) - allowed)
        if unknown:
            yield f"{where}: expr uses metrics the exporter does not publish: {', '.join(unknown)}"


def rule_files(root: Path) -> list[Path]:
    return sorted((root / RULES_DIR).glob("*.yml"))


def rule_test_files(root: Path) -> list[Path]:
    return sorted((root / RULE_TESTS_DIR).glob("*.yml"))


def load_rule_tests(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else {}
