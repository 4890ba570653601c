"""Parse the PromQL subset the shipped alert rules use into a small, frozen syntax tree.

Supported: numbers; selectors `name{l="v", l!="v", l=~"re", l!~"re"}` with an optional range
`[5m]`; the functions in `FUNCTIONS`; the aggregations `sum min max avg count` with `by`/`without`
(before or after the argument); binary operators `^ * / % + -`, comparisons (optionally `bool`)
and `and or unless`, with `on(...)`/`ignoring(...)` one-to-one matching. Anything else (offset,
subqueries, `group_left`, other functions) raises `PromqlSyntaxError`: the watcher then names the
rule as not evaluated instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tradeops.domain.errors import UserInputError
from tradeops.observability.durations import parse_duration

FUNCTIONS = frozenset(
    {"rate", "increase", "delta", "histogram_quantile", "absent", "timestamp"}
    | {"max_over_time", "min_over_time", "avg_over_time", "sum_over_time", "abs"}
)
AGGREGATIONS = frozenset({"sum", "min", "max", "avg", "count"})
COMPARISONS = frozenset({"==", "!=", ">", "<", ">=", "<="})
SET_OPERATORS = frozenset({"and", "or", "unless"})
# Lowest binding first, as in Prometheus.
PRECEDENCE: tuple[frozenset[str], ...] = (
    frozenset({"or"}),
    frozenset({"and", "unless"}),
    COMPARISONS,
    frozenset({"+", "-"}),
    frozenset({"*", "/", "%"}),
    frozenset({"^"}),
)

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<range>\[[^\[\]]*\])
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[iI]nf\b|NaN\b)
  | (?P<ident>[a-zA-Z_:][\w:]*)
  | (?P<op>==|!=|>=|<=|=~|!~|[-+*/%^<>=(){},])
    )""",
    re.VERBOSE,
)


class PromqlSyntaxError(Exception):
    """The expression is outside the subset this evaluator supports (or is not PromQL)."""


@dataclass(frozen=True, slots=True)
class Number:
    value: float


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    op: str  # = != =~ !~
    value: str

    def matches(self, actual: str) -> bool:
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found


@dataclass(frozen=True, slots=True)
class Selector:
    metric: str
    matchers: tuple[Matcher, ...]
    range_s: float | None = None


@dataclass(frozen=True, slots=True)
class Call:
    function: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Aggregate:
    op: str
    expr: Node
    by: tuple[str, ...] | None = None
    without: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    lhs: Node
    rhs: Node
    bool_: bool = False
    on: tuple[str, ...] | None = None
    ignoring: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Negate:
    expr: Node


Node = Number | Selector | Call | Aggregate | Binary | Negate


def _tokens(text: str) -> list[tuple[str, str]]:
    out, position = [], 0
    stripped = text.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None or match.end() == position:
            raise PromqlSyntaxError(f"cannot read {stripped[position : position + 20]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        position = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self, ahead: int = 0) -> tuple[str, str]:
        index = self.at + ahead
        return self.tokens[index] if index < len(self.tokens) else ("end", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if value is not None and token[1] != value:
            raise PromqlSyntaxError(f"expected {value!r}, found {token[1] or 'the end'!r}")
        self.at += 1
        return token

    def parse(self) -> Node:
        node = self.binary(0)
        if self.peek()[0] != "end":
            raise PromqlSyntaxError(f"unexpected {self.peek()[1]!r}")
        return node

    def binary(self, level: int) -> Node:
        if level == len(PRECEDENCE):
            return self.unary()
        lhs = self.binary(level + 1)
        while self.peek()[1] in PRECEDENCE[level]:
            op = self.take()[1]
            bool_ = self.keyword("bool")
            on = self.labels_after("on")
            ignoring = None if on is not None else self.labels_after("ignoring")
            if self.peek()[1] in ("group_left", "group_right"):
                raise PromqlSyntaxError(f"{self.peek()[1]} is not supported")
            # `^` is right-associative; every other operator is left-associative.
            rhs = self.binary(level if op == "^" else level + 1)
            lhs = Binary(op, lhs, rhs, bool_, on, ignoring)
        return lhs

    def keyword(self, word: str) -> bool:
        if self.peek() == ("ident", word):
            self.take()
            return True
        return False

    def labels_after(self, word: str) -> tuple[str, ...] | None:
        if not self.keyword(word):
            return None
        self.take("(")
        names: list[str] = []
        while self.peek()[1] != ")":
            kind, name = self.take()
            if kind != "ident":
                raise PromqlSyntaxError(f"{word}(...): expected a label name, found {name!r}")
            names.append(name)
            if self.peek()[1] == ",":
                self.take()
        self.take(")")
        return tuple(names)

    def unary(self) -> Node:
        if self.peek()[1] in ("-", "+"):
            sign = self.take()[1]
            inner = self.unary()
            return Negate(inner) if sign == "-" else inner
        return self.primary()

    def primary(self) -> Node:
        kind, value = self.peek()
        if kind == "number":
            self.take()
            return Number(float(value))
        if value == "(":
            self.take()
            inner = self.binary(0)
            self.take(")")
            return inner
        if kind == "ident" and value in AGGREGATIONS and self.peek(1)[1] in ("(", "by", "without"):
            return self.aggregate()
        if kind == "ident" and self.peek(1)[1] == "(":
            return self.call()
        if kind == "ident" or value == "{":
            return self.selector()
        raise PromqlSyntaxError(f"unexpected {value or 'end of expression'!r}")

    def aggregate(self) -> Node:
        op = self.take()[1]
        by, without = self.labels_after("by"), self.labels_after("without")
        self.take("(")
        expr = self.binary(0)
        self.take(")")
        if by is None and without is None:
            by, without = self.labels_after("by"), self.labels_after("without")
        return Aggregate(op, expr, by, without)

    def call(self) -> Node:
        name = self.take()[1]
        if name not in FUNCTIONS:
            raise PromqlSyntaxError(f"function {name}() is not supported")
        self.take("(")
        args: list[Node] = []
        while self.peek()[1] != ")":
            args.append(self.binary(0))
            if self.peek()[1] == ",":
                self.take()
        self.take(")")
        return Call(name, tuple(args))

    def selector(self) -> Node:
        metric = self.take()[1] if self.peek()[0] == "ident" else ""
        matchers: list[Matcher] = []
        if self.peek()[1] == "{":
            self.take()
            while self.peek()[1] != "}":
                kind, name = self.take()
                op = self.take()[1]
                quoted = self.take()
                if kind != "ident" or op not in ("=", "!=", "=~", "!~") or quoted[0] != "string":
                    raise PromqlSyntaxError(f"bad label matcher near {name!r}")
                matchers.append(Matcher(name, op, _unquote(quoted[1])))
                if self.peek()[1] == ",":
                    self.take()
            self.take("}")
        if not metric and not matchers:
            raise PromqlSyntaxError("a selector needs a metric name or a matcher")
        range_s = None
        if self.peek()[0] == "range":
            text = self.take()[1][1:-1]
            try:
                range_s = parse_duration(text, flag="range")
            except UserInputError as exc:
                raise PromqlSyntaxError(f"range [{text}] is not a duration") from exc
        if self.peek() == ("ident", "offset"):
            raise PromqlSyntaxError("offset is not supported")
        return Selector(metric, tuple(matchers), range_s)


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def parse(expr: str) -> Node:
    """The syntax tree of `expr`; PromqlSyntaxError when it leaves the supported subset."""
    return _Parser(expr).parse()


def ranges(node: Node) -> list[float]:
    """Every range `[...]` the expression reads (how much history the evaluator must keep)."""
    if isinstance(node, Selector):
        return [node.range_s] if node.range_s else []
    if isinstance(node, Call):
        return [r for arg in node.args for r in ranges(arg)]
    if isinstance(node, Aggregate | Negate):
        return ranges(node.expr)
    if isinstance(node, Binary):
        return ranges(node.lhs) + ranges(node.rhs)
    return []
