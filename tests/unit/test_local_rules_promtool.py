"""The watcher's own rule evaluator agrees with promtool on every shipped rule unit test.

deploy/prometheus/tests/ holds the promtool tests of the shipped rules (`tradeops alerts validate`
runs them through the real promtool): input series, evaluation times and the exact alerts expected.
Here the same series feed `LocalEvaluator`, evaluated every `evaluation_interval` like Prometheus'
rule manager, and at each `eval_time` the firing alerts must be exactly the expected ones.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tradeops.observability.local_rules import LocalEvaluator
from tradeops.observability.promql_eval import Sample, SeriesStore
from tradeops.observability.rules import RULE_TESTS_DIR, RULES_FILE, load_rules

REPO = Path(__file__).resolve().parents[2]
TESTS = yaml.safe_load((REPO / RULE_TESTS_DIR / "multi_strategy_rules_test.yml").read_text())
RULES = load_rules(REPO / RULES_FILE)
_EXPANDING = re.compile(r"^([-+]?[\d.]+(?:e[-+]?\d+)?)(?:([-+][\d.]+(?:e[-+]?\d+)?))?x(\d+)$")
_SERIES = re.compile(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?$")
_PAIR = re.compile(r'\s*(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def expand(values: str) -> list[float | None]:
    """promtool's series notation: `a+bxn`, `axn`, `_`, `_xn`, `stale`, plain numbers."""
    out: list[float | None] = []
    for token in str(values).split():
        if token == "_":
            out.append(None)
        elif token.startswith("_x"):
            out.extend([None] * int(token[2:]))
        elif token == "stale":
            out.append(math.nan)
        elif (match := _EXPANDING.match(token)) is not None:
            start, step, count = float(match.group(1)), float(match.group(2) or 0), int(match.group(3))
            out.extend(start + step * i for i in range(count + 1))
        else:
            out.append(float(token))
    return out


def seconds(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+)([smh])", text))


def store_of(test: dict[str, Any]) -> SeriesStore:
    store = SeriesStore(retention_s=math.inf)
    interval = seconds(test.get("interval", "30s"))
    for entry in test["input_series"]:
        match = _SERIES.match(entry["series"].strip())
        assert match is not None, entry["series"]
        labels = tuple(sorted(_PAIR.findall(match.group(2) or "")))
        points = store.series.setdefault(match.group(1), {}).setdefault(labels, [])
        for i, value in enumerate(expand(entry["values"])):
            if value is not None:
                t = i * interval
                points.append(Sample(t, t, value, stale=math.isnan(value)))
    return store


def firing_at_each_eval_time(test: dict[str, Any]) -> dict[tuple[float, str], list[dict[str, str]]]:
    evaluator = LocalEvaluator.from_rules(RULES)
    evaluator.store = store_of(test)
    checkpoints = {seconds(case["eval_time"]) for case in test["alert_rule_test"]}
    step = seconds(TESTS.get("evaluation_interval", "30s"))
    seen: dict[tuple[float, str], list[dict[str, str]]] = {}
    t = 0.0
    while t <= max(checkpoints):
        evaluator.evaluate_at(t, t, str(t))
        assert not evaluator.errors, evaluator.errors
        if t in checkpoints:
            for labels in evaluator.firing():
                name = labels["alertname"]
                seen.setdefault((t, name), []).append({k: v for k, v in labels.items() if k != "alertname"})
        t += step
    return seen


def test_every_shipped_rule_is_understood_by_the_local_evaluator() -> None:
    evaluator = LocalEvaluator.from_rules(RULES)
    assert evaluator.not_evaluated == []
    assert sorted(evaluator.evaluated) == sorted(rule.alert for rule in RULES) and len(RULES) >= 16


@pytest.mark.parametrize("test", TESTS["tests"], ids=[t["name"] for t in TESTS["tests"]])
def test_local_evaluation_matches_the_promtool_expectations(test: dict[str, Any]) -> None:
    firing = firing_at_each_eval_time(test)
    for case in test["alert_rule_test"]:
        at, name = seconds(case["eval_time"]), case["alertname"]
        expected = sorted(
            sorted({str(k): str(v) for k, v in (alert.get("exp_labels") or {}).items()}.items())
            for alert in case.get("exp_alerts") or []
        )
        actual = sorted(sorted(labels.items()) for labels in firing.get((at, name), []))
        assert actual == expected, f"{test['name']}: {name} at {case['eval_time']}"


def test_the_cross_check_covers_every_rule_firing_at_least_once() -> None:
    fired = set()
    for test in TESTS["tests"]:
        fired |= {name for (_, name) in firing_at_each_eval_time(test)}
    assert fired == {rule.alert for rule in RULES}
