"""Evaluate the alert rules that need no Prometheus, on the watcher's own scrapes.

Used by the metrics watcher when neither Alertmanager nor Prometheus is given. A rule is
evaluable here when its expression is a plain threshold on one series, e.g.
`tradeops_strategy_drawdown_ratio > 0.1` or `up{job="tradeops"} == 0` (the watcher records
`up` itself: 1 per successful scrape, 0 per failed one). Rules built on rate(), increase(),
histogram_quantile() or absent() need a time-series database and are listed as not evaluated.
Thresholds, `for:` durations, severities and names come from the rules file itself.

"New" means the condition was false at the first poll and the alert started firing later;
a condition already true at the first poll predates the window.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tradeops.observability.durations import parse_duration
from tradeops.observability.rules import AlertRule
from tradeops.observability.scrape import Labels, Samples

_SIMPLE = re.compile(
    r"^\s*(?P<metric>[a-zA-Z_:][\w:]*)\s*(?:\{(?P<matchers>[^{}]*)\})?\s*"
    r"(?P<op>==|!=|>=|<=|>|<)\s*(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)
_EQUALITY = re.compile(r'\s*([a-zA-Z_]\w*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*')
_OPS: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


_LABEL_REF = re.compile(r"\{\{\s*\$labels\.(\w+)\s*\}\}")


def render_labels(template: str, labels: dict[str, str]) -> str:
    """Fill `{{ $labels.x }}` references (the only template part the watcher renders)."""
    return _LABEL_REF.sub(lambda m: labels.get(m.group(1), ""), template)


@dataclass(frozen=True, slots=True)
class LocalRule:
    rule: AlertRule
    metric: str
    matchers: tuple[tuple[str, str], ...]
    op: str
    threshold: float
    for_s: float

    def selects(self, labels: Labels) -> bool:
        present = dict(labels)
        return all(present.get(name, "") == value for name, value in self.matchers)

    def holds(self, value: float) -> bool:
        return _OPS[self.op](value, self.threshold)


def _matchers(text: str | None) -> tuple[tuple[str, str], ...] | None:
    if not text or not text.strip():
        return ()
    pairs = []
    for part in text.split(","):
        match = _EQUALITY.fullmatch(part)
        if match is None:
            return None  # regex or negative matchers: leave to Prometheus
        pairs.append((match.group(1), match.group(2)))
    return tuple(pairs)


def compile_rule(rule: AlertRule) -> LocalRule | None:
    match = _SIMPLE.match(rule.expr.strip())
    if match is None:
        return None
    matchers = _matchers(match.group("matchers"))
    if matchers is None:
        return None
    for_s = parse_duration(rule.for_, flag=f"{rule.alert} for") if rule.for_ and rule.for_ != "0s" else 0.0
    return LocalRule(
        rule, match.group("metric"), matchers, match.group("op"), float(match.group("value")), for_s
    )


@dataclass(slots=True)
class _Track:
    active_since: float
    pre_existing: bool
    firing_since: float | None = None


@dataclass(slots=True)
class LocalEvaluator:
    """Feed one sample set per poll (`observe`); collects every alert that fired in the window."""

    rules: list[LocalRule]
    not_evaluated: list[str]
    fired: dict[tuple[str, Labels], dict[str, Any]] = field(default_factory=dict)
    _tracks: dict[tuple[str, Labels], _Track] = field(default_factory=dict)
    _first_poll: float | None = None

    @classmethod
    def from_rules(cls, rules: list[AlertRule]) -> LocalEvaluator:
        compiled, skipped = [], []
        for rule in rules:
            local = compile_rule(rule)
            if local is None:
                skipped.append(rule.alert)
            else:
                compiled.append(local)
        return cls(compiled, skipped)

    @property
    def evaluated(self) -> list[str]:
        return [r.rule.alert for r in self.rules]

    def observe(self, samples: Samples, at: float, wall_iso: str) -> list[dict[str, Any]]:
        """Advance to watch time `at`; returns alerts that started firing at this poll."""
        first = self._first_poll is None
        if first:
            self._first_poll = at
        started = []
        for local in self.rules:
            holding = {
                labels
                for labels, value in samples.get(local.metric, {}).items()
                if local.selects(labels) and local.holds(value)
            }
            for labels in holding:
                key = (local.rule.alert, labels)
                track = self._tracks.get(key)
                if track is None:
                    track = self._tracks[key] = _Track(active_since=at, pre_existing=first)
                if track.firing_since is None and at - track.active_since >= local.for_s:
                    track.firing_since = at
                    alert = self._alert(local, labels, track, wall_iso)
                    self.fired[key] = alert
                    started.append(alert)
            for key in [k for k in self._tracks if k[0] == local.rule.alert and k[1] not in holding]:
                del self._tracks[key]
                if key in self.fired:
                    self.fired[key]["state"] = "resolved"
        return started

    def _alert(self, local: LocalRule, labels: Labels, track: _Track, wall_iso: str) -> dict[str, Any]:
        rule = local.rule
        return {
            "alertname": rule.alert,
            "severity": rule.severity,
            "labels": {**dict(labels), **rule.labels, "alertname": rule.alert},
            "summary": render_labels(rule.annotations.get("summary", ""), dict(labels)),
            "state": "firing",
            "starts_at": wall_iso,
            "new": not track.pre_existing,
            "silenced": False,
            "source": "local-rules",
        }
