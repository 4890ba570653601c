"""Evaluate the PromQL subset of `promql_parse` over an in-memory series store, like Prometheus does.

The store keeps what the watcher scraped: per series a list of samples at watch time `t` (seconds,
scaled by TRADEOPS_TIME_SCALE) with the wall-clock time of the scrape beside it. The semantics
follow Prometheus 2.x: an instant selector takes the newest sample of the last 5 minutes unless the
series went stale (a scrape that failed or no longer showed it); a range `[d]` takes the samples in
`[t - d, t]`; `rate`/`increase`/`delta` extrapolate to the range edges as Prometheus does;
`histogram_quantile` interpolates inside the bucket; comparisons filter unless `bool`; vector
matching is one-to-one on all labels, or on `on(...)`, or all but `ignoring(...)`.
`timestamp()` answers wall time, so a wall-clock heartbeat can be compared with it.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tradeops.observability.promql_parse import (
    COMPARISONS,
    SET_OPERATORS,
    Aggregate,
    Binary,
    Call,
    Negate,
    Node,
    Number,
    Selector,
)
from tradeops.observability.scrape import Labels, Samples

LOOKBACK_S = 300.0
Vector = dict[Labels, float]
Value = float | Vector


class PromqlEvalError(Exception):
    """The expression is valid but cannot be evaluated on these series (e.g. many-to-many matching)."""


@dataclass(frozen=True, slots=True)
class Sample:
    t: float
    wall: float
    value: float
    stale: bool = False


@dataclass
class SeriesStore:
    """Samples per metric name and label set, pruned to `retention_s` of watch time."""

    retention_s: float
    series: dict[str, dict[Labels, list[Sample]]] = field(default_factory=dict)
    _live: set[tuple[str, Labels]] = field(default_factory=set)

    def append(self, name: str, labels: Labels, t: float, wall: float, value: float) -> None:
        self.series.setdefault(name, {}).setdefault(labels, []).append(Sample(t, wall, value))

    def ingest(self, samples: Samples, t: float, wall: float) -> None:
        """One scrape: every series in it, and a stale marker for each live series it no longer has."""
        present = set()
        for name, by_labels in samples.items():
            for labels, value in by_labels.items():
                self.append(name, labels, t, wall, value)
                present.add((name, labels))
        for name, labels in self._live - present:
            self.series[name][labels].append(Sample(t, wall, math.nan, stale=True))
        self._live = present
        self.prune(t)

    def prune(self, now: float) -> None:
        horizon = now - self.retention_s
        for by_labels in self.series.values():
            for labels, points in list(by_labels.items()):
                first = bisect.bisect_left(points, horizon, key=_time)  # samples are in time order
                if first >= len(points):
                    del by_labels[labels]
                elif first:
                    del points[:first]

    def select(self, selector: Selector) -> Iterable[tuple[Labels, list[Sample]]]:
        for labels, points in self.series.get(selector.metric, {}).items():
            present = dict(labels)
            if all(m.matches(present.get(m.name, "")) for m in selector.matchers):
                yield labels, points


def _time(sample: Sample) -> float:
    return sample.t


def _instant(store: SeriesStore, selector: Selector, t: float) -> dict[Labels, Sample]:
    out = {}
    for labels, points in store.select(selector):
        end = bisect.bisect_right(points, t, key=_time)
        if end and points[end - 1].t >= t - LOOKBACK_S and not points[end - 1].stale:
            out[labels] = points[end - 1]
    return out


def _range(store: SeriesStore, selector: Selector, t: float) -> dict[Labels, list[Sample]]:
    assert selector.range_s is not None
    out = {}
    for labels, points in store.select(selector):
        start = bisect.bisect_left(points, t - selector.range_s, key=_time)
        end = bisect.bisect_right(points, t, key=_time)
        window = [p for p in points[start:end] if not p.stale]
        if window:
            out[labels] = window
    return out


def _extrapolated(
    points: list[Sample], start: float, end: float, *, counter: bool, rate: bool
) -> float | None:
    """Prometheus' extrapolatedRate: the change over the samples, stretched towards the range edges."""
    if len(points) < 2:
        return None
    result = points[-1].value - points[0].value
    if counter:
        result += sum(prev.value for prev, cur in itertools.pairwise(points) if cur.value < prev.value)
    sampled = points[-1].t - points[0].t
    if sampled <= 0:
        return None
    to_start, to_end = points[0].t - start, end - points[-1].t
    average = sampled / (len(points) - 1)
    if counter and result > 0 and points[0].value >= 0:
        to_start = min(to_start, sampled * (points[0].value / result))
    threshold = average * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else average / 2
    interval += to_end if to_end < threshold else average / 2
    factor = interval / sampled
    if rate:
        factor /= end - start
    return result * factor


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus' bucketQuantile over (upper bound, cumulative count) pairs."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    merged: dict[float, float] = {}
    for upper, count in buckets:
        merged[upper] = merged.get(upper, 0.0) + count
    ordered = sorted(merged.items())
    if not ordered or not math.isinf(ordered[-1][0]) or len(ordered) < 2:
        return math.nan
    counts, highest = [], -math.inf
    for _, count in ordered:  # cumulative counts never fall
        highest = max(highest, count)
        counts.append(highest)
    observations = counts[-1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = next((i for i in range(len(ordered) - 1) if counts[i] >= rank), len(ordered) - 1)
    if b == len(ordered) - 1:
        return ordered[-2][0]
    if b == 0 and ordered[0][0] <= 0:
        return ordered[0][0]
    start, end, count = 0.0, ordered[b][0], counts[b]
    if b > 0:
        start = ordered[b - 1][0]
        count -= counts[b - 1]
        rank -= counts[b - 1]
    return start + (end - start) * (rank / count)


def _keep(labels: Labels, names: tuple[str, ...]) -> Labels:
    return tuple((k, v) for k, v in labels if k in names)


def _drop(labels: Labels, names: tuple[str, ...]) -> Labels:
    return tuple((k, v) for k, v in labels if k not in names)


_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": lambda a, b: a / b if b else (math.copysign(math.inf, a) if a else math.nan),
    "%": lambda a, b: math.fmod(a, b) if b else math.nan,
    "^": lambda a, b: math.nan if a < 0 and not float(b).is_integer() else math.pow(a, b),
}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
}
_AGGREGATE: dict[str, Callable[[list[float]], float]] = {
    "sum": math.fsum,
    "min": min,
    "max": max,
    "avg": lambda values: math.fsum(values) / len(values),
    "count": lambda values: float(len(values)),
}
_OVER_TIME: dict[str, Callable[[list[float]], float]] = {
    "max_over_time": max,
    "min_over_time": min,
    "avg_over_time": lambda values: math.fsum(values) / len(values),
    "sum_over_time": math.fsum,
}


@dataclass(frozen=True, slots=True)
class Evaluation:
    store: SeriesStore
    t: float  # watch time of the evaluation
    wall: float  # wall-clock time of the evaluation

    def value(self, node: Node) -> Value:
        if isinstance(node, Number):
            return node.value
        if isinstance(node, Selector):
            if node.range_s is not None:
                raise PromqlEvalError("a range vector can only be a function's argument")
            return {labels: s.value for labels, s in _instant(self.store, node, self.t).items()}
        if isinstance(node, Negate):
            inner = self.value(node.expr)
            return -inner if isinstance(inner, float) else {k: -v for k, v in inner.items()}
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Aggregate):
            return self.aggregate(node)
        return self.binary(node)

    def vector(self, node: Node) -> Vector:
        result = self.value(node)
        if isinstance(result, float):
            raise PromqlEvalError("expected a vector, got a scalar")
        return result

    def call(self, node: Call) -> Value:
        name, args = node.function, node.args
        if name in ("rate", "increase", "delta") or name in _OVER_TIME:
            return self.over_range(name, args)
        if name == "histogram_quantile":
            return self.quantile(args)
        [arg] = args
        if name == "absent":
            if self.vector(arg):
                return {}
            pairs = arg.matchers if isinstance(arg, Selector) else ()
            return {tuple(sorted((m.name, m.value) for m in pairs if m.op == "=")): 1.0}
        if name == "timestamp":
            if isinstance(arg, Selector) and arg.range_s is None:
                return {labels: s.wall for labels, s in _instant(self.store, arg, self.t).items()}
            return dict.fromkeys(self.vector(arg), self.wall)
        return {labels: abs(v) for labels, v in self.vector(arg).items()}  # abs

    def over_range(self, name: str, args: tuple[Node, ...]) -> Vector:
        [arg] = args
        if not isinstance(arg, Selector) or arg.range_s is None:
            raise PromqlEvalError(f"{name}() needs a range selector")
        out: Vector = {}
        for labels, points in _range(self.store, arg, self.t).items():
            if name in _OVER_TIME:
                out[labels] = _OVER_TIME[name]([p.value for p in points])
                continue
            change = _extrapolated(
                points, self.t - arg.range_s, self.t, counter=name != "delta", rate=name == "rate"
            )
            if change is not None:
                out[labels] = change
        return out

    def quantile(self, args: tuple[Node, ...]) -> Vector:
        q, inner = self.value(args[0]), self.vector(args[1])
        if not isinstance(q, float):
            raise PromqlEvalError("histogram_quantile() needs a scalar quantile")
        groups: dict[Labels, list[tuple[float, float]]] = {}
        for labels, count in inner.items():
            le = dict(labels).get("le")
            if le is not None:
                groups.setdefault(_drop(labels, ("le",)), []).append((float(le), count))
        return {labels: bucket_quantile(q, buckets) for labels, buckets in groups.items()}

    def aggregate(self, node: Aggregate) -> Vector:
        groups: dict[Labels, list[float]] = {}
        for labels, value in self.vector(node.expr).items():
            if node.by is not None:
                key = _keep(labels, node.by)
            elif node.without is not None:
                key = _drop(labels, node.without)
            else:
                key = ()
            groups.setdefault(key, []).append(value)
        return {key: _AGGREGATE[node.op](values) for key, values in groups.items()}

    def binary(self, node: Binary) -> Value:
        lhs, rhs = self.value(node.lhs), self.value(node.rhs)
        if isinstance(lhs, float) and isinstance(rhs, float):
            if node.op in COMPARISONS:
                if not node.bool_:
                    raise PromqlEvalError("comparisons between scalars need bool")
                return float(_COMPARE[node.op](lhs, rhs))
            return _ARITHMETIC[node.op](lhs, rhs)
        if node.op in SET_OPERATORS:
            if isinstance(lhs, float) or isinstance(rhs, float):
                raise PromqlEvalError(f"{node.op} needs vectors on both sides")
            return self.set_operation(node, lhs, rhs)
        if isinstance(lhs, float) or isinstance(rhs, float):
            return _with_scalar(node, lhs, rhs)
        return self.matched(node, lhs, rhs)

    def signature(self, node: Binary, labels: Labels) -> Labels:
        if node.on is not None:
            return _keep(labels, node.on)
        return _drop(labels, node.ignoring or ())

    def set_operation(self, node: Binary, lhs: Vector, rhs: Vector) -> Vector:
        right = {self.signature(node, labels) for labels in rhs}
        if node.op == "and":
            return {k: v for k, v in lhs.items() if self.signature(node, k) in right}
        if node.op == "unless":
            return {k: v for k, v in lhs.items() if self.signature(node, k) not in right}
        left = {self.signature(node, labels) for labels in lhs}
        return {**lhs, **{k: v for k, v in rhs.items() if self.signature(node, k) not in left}}

    def matched(self, node: Binary, lhs: Vector, rhs: Vector) -> Vector:
        right: dict[Labels, float] = {}
        for labels, value in rhs.items():
            key = self.signature(node, labels)
            if key in right:
                raise PromqlEvalError("many-to-many matching: the right side has duplicate series")
            right[key] = value
        out: Vector = {}
        for labels, value in lhs.items():
            key = self.signature(node, labels)
            if key not in right:
                continue
            if node.on is not None:
                result_labels = key
            elif node.ignoring is not None:
                result_labels = _drop(labels, node.ignoring)
            else:
                result_labels = labels
            if result_labels in out:
                raise PromqlEvalError("many-to-many matching: the left side has duplicate series")
            combined = _combine(node, value, right[key])
            if combined is not None:
                out[result_labels] = combined
        return out


def _combine(node: Binary, left: float, right: float) -> float | None:
    if node.op in COMPARISONS:
        holds = _COMPARE[node.op](left, right)
        if node.bool_:
            return float(holds)
        return left if holds else None
    return _ARITHMETIC[node.op](left, right)


def _with_scalar(node: Binary, lhs: Value, rhs: Value) -> Vector:
    out: Vector = {}
    vector_on_left = not isinstance(lhs, float)
    vector = lhs if vector_on_left else rhs
    scalar = rhs if vector_on_left else lhs
    assert isinstance(vector, dict) and isinstance(scalar, float)
    for labels, value in vector.items():
        left, right = (value, scalar) if vector_on_left else (scalar, value)
        if node.op in COMPARISONS:
            holds = _COMPARE[node.op](left, right)
            if node.bool_:
                out[labels] = float(holds)
            elif holds:
                out[labels] = value
        else:
            out[labels] = _ARITHMETIC[node.op](left, right)
    return out


def evaluate(node: Node, store: SeriesStore, t: float, wall: float) -> Vector:
    """The instant vector `node` yields at watch time `t` (wall-clock `wall`)."""
    return Evaluation(store, t, wall).vector(node)
