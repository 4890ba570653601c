"""Fuzz the config loader: a mutated core.yaml never raises; it is a config or one-line problems.

Bounded: a fixed number of examples, each a single validation of a file the size of core.yaml."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeops.config.load import validate_config_text
from tradeops.config.models import AppConfig

SHIPPED = Path("config/core.yaml").read_text()
LINES = SHIPPED.splitlines(keepends=True)
PROBLEM = re.compile(r"^core\.yaml:\d+ \S[^\n]*$")

# Values that broke loaders before: anchors, aliases, merge keys, tags, odd scalars, flow syntax.
NASTY = [
    "&a",
    "*a",
    "<<: *a",
    "<<: [*a, *a]",
    "<<: 5",
    "!!binary AAAA",
    "!!python/object:os.system",
    "!custom x",
    "~",
    "''",
    '""',
    ".nan",
    ".inf",
    "-.inf",
    "1e999",
    "-1",
    "0x1F",
    "2021-13-45",
    "2024-01-01T00:00:00Z",
    "[",
    "]",
    "{",
    "}",
    "{a: 1, a: 2}",
    "? [a, b]\n: c",
    "- x",
    "x" * 300,
    "\t",
    "\x00",
    "\ufeff",
    "'unterminated",
    "|\n  block",
    ": :",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "99999999999999999999999999",
]


def _mutate(text: str, data: st.DataObject) -> str:
    lines = text.splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        kind = data.draw(
            st.sampled_from(["insert", "replace_value", "delete", "duplicate", "swap", "indent"])
        )
        i = data.draw(st.integers(0, len(lines) - 1), label="line")
        if kind == "insert":
            pos = data.draw(st.integers(0, len(lines[i])))
            piece = data.draw(st.sampled_from(NASTY) | st.text(max_size=8))
            lines[i] = lines[i][:pos] + piece + lines[i][pos:]
        elif kind == "replace_value" and ":" in lines[i]:
            key = lines[i].split(":", 1)[0]
            lines[i] = f"{key}: {data.draw(st.sampled_from(NASTY))}\n"
        elif kind == "delete":
            del lines[i : i + data.draw(st.integers(1, 5))]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = data.draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "indent":
            lines[i] = " " * data.draw(st.integers(1, 4)) + lines[i]
        if not lines:
            lines = ["\n"]
    return "".join(lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_config_is_valid_or_rejected_in_one_line_each(data):
    text = _mutate(SHIPPED, data)
    cfg, problems = validate_config_text(text, "core.yaml")
    if cfg is not None:
        assert problems == ()
        assert isinstance(cfg, AppConfig)
        assert cfg.environments and cfg.runtime.multi_strategy_schedulers
    else:
        assert problems, "rejected without saying why"
        bad = [p for p in problems if not PROBLEM.match(p)]
        assert not bad, bad
