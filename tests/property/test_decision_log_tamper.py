"""Any single-line change, deletion, swap or duplication of a valid log is detected at its line."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeops.decision_log.canonical import canonical_bytes
from tradeops.decision_log.keys import SigningKey
from tradeops.decision_log.verify import verify_file
from tradeops.decision_log.writer import DecisionLogWriter

KEYS = (SigningKey("2025-q4", b"old-secret", "sha256"), SigningKey("2026-q1", b"new-secret", "sha384"))
KEYRING = {key.key_id: key for key in KEYS}
# No control characters: their \\u00XX escapes have an equivalent spelling (\\u001F) with the same content.
text = st.text(st.characters(min_codepoint=0x20, exclude_categories=["Cs"]), max_size=12)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    text,
    st.floats(allow_nan=False, allow_infinity=False),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
entries = st.fixed_dictionaries(
    {
        "status": text.filter(str.strip),
        "artefacts": st.dictionaries(text, json_values, min_size=1, max_size=4),
        "metadata": st.dictionaries(text, json_values, max_size=3),
        "tags": st.lists(text, max_size=3),
        "key": st.sampled_from(KEYS),
    }
)
mutations = st.one_of(
    st.tuples(st.just("flip"), st.integers(min_value=0), st.integers(min_value=1, max_value=255)),
    st.tuples(st.just("delete"), st.integers(min_value=0)),
    st.tuples(st.just("swap"), st.integers(min_value=0), st.integers(min_value=1)),
    st.tuples(st.just("duplicate"), st.integers(min_value=0), st.integers(min_value=0)),
)


def build_log(directory: Path, specs: list[dict]) -> tuple[Path, str]:
    path = directory / "log.jsonl"
    for spec in specs:  # a new writer per key: rotation inside one log
        with DecisionLogWriter(path, spec["key"]) as writer:
            writer.append(
                kind="decision", stage="stage4", status=spec["status"], artefacts=spec["artefacts"],
                metadata=spec["metadata"], tags=spec["tags"],
            )  # fmt: skip
            head = writer.head
    return path, head


def first_difference(original: list[bytes], changed: list[bytes]) -> int:
    """1-based number of the first line that differs (one past the end when `changed` is a prefix)."""
    for number, (before, after) in enumerate(zip(original, changed, strict=False), 1):
        if before != after:
            return number
    return min(len(original), len(changed)) + 1


def mutate(lines: list[bytes], mutation: tuple) -> list[bytes] | None:
    """Apply one mutation (None when it would not be a single-line change)."""
    lines = list(lines)
    kind, first = mutation[0], mutation[1] % len(lines)
    if kind == "flip":
        line = bytearray(lines[first])
        offset = mutation[1] // len(lines) % len(line)
        line[offset] ^= mutation[2]
        if b"\n" in line:
            return None  # that would split the line: a different mutation (insertion)
        lines[first] = bytes(line)
        return lines
    if kind == "delete":
        del lines[first]
        return lines
    if kind == "swap":
        second = (first + mutation[2]) % len(lines)
        if second == first:
            return None
        lines[first], lines[second] = lines[second], lines[first]
        return lines
    lines.insert(mutation[2] % (len(lines) + 1), lines[first])
    return lines


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(entries, min_size=1, max_size=6), mutation=mutations)
def test_single_mutation_is_detected_at_its_line(specs, mutation):
    with tempfile.TemporaryDirectory() as tmp:
        path, head = build_log(Path(tmp), specs)
        original = path.read_bytes().splitlines()
        assert verify_file(path, keyring=KEYRING, strict=True, expect_head=head).ok
        lines = mutate(original, mutation)
        if lines is None:
            return
        path.write_bytes(b"".join(line + b"\n" for line in lines))
        result = verify_file(path, keyring=KEYRING, strict=True, expect_head=head)
        assert not result.ok, (mutation, result)
        assert result.first_error_line == first_difference(original, lines), (mutation, result)


@settings(max_examples=500)
@given(value=json_values)
def test_canonical_bytes_equal_the_standard_library(value):
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert canonical_bytes(value) == expected
