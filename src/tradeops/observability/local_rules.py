"""Evaluate every shipped alert rule on the watcher's own scrapes, without Prometheus.

Used by the metrics watcher when neither Alertmanager nor Prometheus is given. Each scrape goes
into an in-memory series store with the target labels Prometheus would add (`job`, `instance`,
taken from the watcher's own `up` series: 1 per successful scrape, 0 per failed one); each rule's
expression is parsed once (`promql_parse`) and evaluated at every poll (`promql_eval`): rate,
increase, histogram_quantile, absent, timestamp, *_over_time, aggregations, on(...) matching and
`for:` durations, as Prometheus evaluates them. A rule outside that subset, or whose evaluation
fails, is named as not evaluated, never silently passed. Ranges longer than the time watched so
far see only the watched part (listed as `short_history`).

"New" means the condition was false at the first poll and the alert started firing later;
a condition already true at the first poll predates the window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tradeops.observability.durations import parse_duration
from tradeops.observability.promql_eval import LOOKBACK_S, PromqlEvalError, SeriesStore, evaluate
from tradeops.observability.promql_parse import Node, PromqlSyntaxError, parse, ranges
from tradeops.observability.rules import AlertRule
from tradeops.observability.scrape import Labels, Samples

_LABEL_REF = re.compile(r"\{\{\s*\$labels\.(\w+)\s*\}\}")
TARGET_LABELS = ("job", "instance")


def render_labels(template: str, labels: dict[str, str]) -> str:
    """Fill `{{ $labels.x }}` references (the only template part the watcher renders)."""
    return _LABEL_REF.sub(lambda m: labels.get(m.group(1), ""), template)


@dataclass(frozen=True, slots=True)
class LocalRule:
    rule: AlertRule
    node: Node
    for_s: float

    @property
    def longest_range_s(self) -> float:
        return max(ranges(self.node), default=0.0)


def compile_rule(rule: AlertRule) -> LocalRule | None:
    """The parsed rule, or None when its expression is outside the evaluator's PromQL subset."""
    try:
        node = parse(rule.expr)
    except PromqlSyntaxError:
        return None
    for_s = parse_duration(rule.for_, flag=f"{rule.alert} for") if rule.for_ and rule.for_ != "0s" else 0.0
    return LocalRule(rule, node, for_s)


def with_target_labels(samples: Samples) -> Samples:
    """Every scraped series gets the scrape target's `job` and `instance`, as Prometheus attaches them."""
    up = samples.get("up", {})
    if len(up) != 1:
        return samples
    target = dict(next(iter(up)))
    extra = {k: target[k] for k in TARGET_LABELS if k in target}
    out: Samples = {}
    for name, series in samples.items():
        out[name] = {
            tuple(sorted({**extra, **dict(labels)}.items())): value for labels, value in series.items()
        }
    return out


@dataclass(slots=True)
class _Track:
    active_since: float
    pre_existing: bool
    firing_since: float | None = None


@dataclass(slots=True)
class LocalEvaluator:
    """Feed one sample set per poll (`observe`); collects every alert that fired in the window."""

    rules: list[LocalRule]
    unsupported: list[str]
    store: SeriesStore
    fired: dict[tuple[str, Labels], dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    _tracks: dict[tuple[str, Labels], _Track] = field(default_factory=dict)
    _first_poll: float | None = None
    _last_poll: float = 0.0

    @classmethod
    def from_rules(cls, rules: list[AlertRule]) -> LocalEvaluator:
        compiled, skipped = [], []
        for rule in rules:
            local = compile_rule(rule)
            if local is None:
                skipped.append(rule.alert)
            else:
                compiled.append(local)
        retention = max((r.longest_range_s for r in compiled), default=0.0) + LOOKBACK_S
        return cls(compiled, skipped, SeriesStore(retention))

    @property
    def evaluated(self) -> list[str]:
        return [r.rule.alert for r in self.rules if r.rule.alert not in self.errors]

    @property
    def not_evaluated(self) -> list[str]:
        return [*self.unsupported, *(r.rule.alert for r in self.rules if r.rule.alert in self.errors)]

    @property
    def short_history(self) -> list[str]:
        """Rules whose range reaches back before the first poll (they saw only the watched part)."""
        watched = self._last_poll - (self._first_poll or 0.0)
        return [r.rule.alert for r in self.rules if r.longest_range_s > watched]

    def observe(self, samples: Samples, at: float, wall: float, wall_iso: str) -> list[dict[str, Any]]:
        """Advance to watch time `at` (wall-clock `wall`); returns alerts that started firing now."""
        self.store.ingest(with_target_labels(samples), at, wall)
        return self.evaluate_at(at, wall, wall_iso)

    def evaluate_at(self, at: float, wall: float, wall_iso: str) -> list[dict[str, Any]]:
        """One rule evaluation over what the store holds up to `at`."""
        first = self._first_poll is None
        if first:
            self._first_poll = at
        self._last_poll = at
        started = []
        for local in self.rules:
            try:
                holding = set(evaluate(local.node, self.store, at, wall))
            except PromqlEvalError as exc:
                self.errors.setdefault(local.rule.alert, str(exc))
                continue
            started.extend(self._advance(local, holding, at, first, wall_iso))
        return started

    def _advance(
        self, local: LocalRule, holding: set[Labels], at: float, first: bool, wall_iso: str
    ) -> list[dict[str, Any]]:
        started = []
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

    def firing(self) -> list[dict[str, str]]:
        """The label sets (series and rule labels) of every alert firing now, as Prometheus shows them."""
        return [
            self.fired[key]["labels"]
            for key, track in self._tracks.items()
            if track.firing_since is not None and key in self.fired
        ]

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
