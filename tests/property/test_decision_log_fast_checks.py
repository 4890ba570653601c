"""The record path's shortcuts agree with the exact path on generated input: the canonical walk's
inline float check (signal metadata) with the rule it implements, `encode_entry`'s one-pass check of
plain objects with the full walk, `sign_entry_object` with `sign_entry`, and the sinks' cached
market and wall times with the reference formatting for any sequence of times."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeops.decision_log import canonical
from tradeops.decision_log.canonical import CanonicalJsonError, needs_stdlib, stdlib_canonical_bytes
from tradeops.decision_log.entry import encode_entry
from tradeops.decision_log.keys import SigningKey
from tradeops.decision_log.sink import FileDecisionSink
from tradeops.domain.events import DecisionRecord
from tradeops.persistence.journal import ProjectingSink
from tradeops.persistence.projection import Projection

KEY = SigningKey("fast", b"fast-path-secret-0123456789", "sha256")
START = 1_767_225_600_000  # 2026-01-01T00:00:00Z


class Real(float):
    """A float subclass: the walk's generic branch, not the inline one."""


def reference_walk(value: Any) -> bool:
    """The rule: refuse non-finite numbers, non-str keys and non-JSON types; True when a float
    with 0 < |x| < 1e-4 (orjson formats those differently) is inside."""
    if isinstance(value, dict):
        slow = False
        for key, item in value.items():
            if type(key) is not str:
                raise CanonicalJsonError("key")
            slow = reference_walk(item) or slow
        return slow
    if isinstance(value, list | tuple):
        slow = False
        for item in value:
            slow = reference_walk(item) or slow
        return slow
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CanonicalJsonError("non-finite")
        return 0.0 < abs(value) < 1e-4
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CanonicalJsonError("non-finite decimal")
        return False
    if isinstance(value, str | int) or value is None:
        return False
    raise CanonicalJsonError("type")


def outcome(check: Any, value: Any) -> Any:
    try:
        return check(value)
    except CanonicalJsonError:
        return "refused"


floats = (
    st.floats()
    | st.floats(min_value=-2e-4, max_value=2e-4)
    | st.sampled_from([0.0, -0.0, 1e-4, -1e-4, 5e-324, math.nan, math.inf, -math.inf, 1.7976931348623157e308])
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    floats,
    floats.map(Real),
    st.text(max_size=6),
    st.decimals(),
    st.sampled_from([b"bytes", frozenset(), object]),
)
keys = st.text(max_size=6) | st.integers(0, 3) | st.sampled_from([None, 1.5])
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(keys, inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(value=values, entry_object=st.dictionaries(st.text(max_size=6), values, max_size=6))
def test_the_walk_applies_the_rule(value: Any, entry_object: dict[str, Any]) -> None:
    assert outcome(canonical._walk, value) == outcome(reference_walk, value)
    # An object of str keys (artefacts, metadata): the check encode_entry makes.
    assert outcome(needs_stdlib, entry_object) == outcome(reference_walk, entry_object)


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=-2e-4, max_value=2e-4),
    st.text(max_size=8),
    st.decimals(allow_nan=False, allow_infinity=False, places=8),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)
metadata_objects = st.dictionaries(st.text(max_size=10), json_values, max_size=8)
plain_objects = st.dictionaries(
    st.text(max_size=10), st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(), max_size=8
)


@settings(max_examples=300, deadline=None)
@given(
    artefacts=plain_objects | metadata_objects,
    metadata=plain_objects | metadata_objects,
    tags=st.lists(st.text(max_size=5), max_size=3),
)
def test_engine_shaped_entries_are_the_reference_form_signed(
    artefacts: dict[str, Any], metadata: dict[str, Any], tags: list[str]
) -> None:
    entry, line = encode_entry(
        kind="signal", stage="paper", status="emitted", timestamp="2026-12-01T12:00:00.123000+00:00",
        artefacts=artefacts, metadata=metadata, tags=tags, seq=3, prev_hash="sha256:" + "cd" * 32,
        log_id="ab" * 16, key=KEY,
    )  # fmt: skip
    assert line == stdlib_canonical_bytes(entry)
    unsigned = {**entry, "signature": {"algorithm": "HMAC-SHA256", "key_id": "fast"}}
    value, expected_line = KEY.sign_entry(stdlib_canonical_bytes(unsigned))
    assert (entry["signature"], line) == (KEY.signature(value), expected_line)
    assert KEY.unsigned == KEY.unsigned_signature == {"algorithm": "HMAC-SHA256", "key_id": "fast"}


def test_refused_values_are_refused_on_the_fast_path_too() -> None:
    from tradeops.domain.errors import UserInputError

    for bad in ({"x": math.nan}, {"x": [{"w": math.inf}]}, {"x": {1: "a"}}, {"x": b"raw"}):
        with pytest.raises(UserInputError):
            encode_entry(
                kind="k", stage="s", status="t", timestamp="t", artefacts={}, metadata=bad, tags=(),
                seq=1, prev_hash="p", log_id="l", key=KEY,
            )  # fmt: skip


def market_reference(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms // 1000, tz=UTC).replace(microsecond=ts_ms % 1000 * 1000).isoformat()


class CapturingWriter:
    """The writer's append as the sinks call it: keeps the arguments."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.seq = 0
        self.head = "sha256:" + "0" * 64
        self.durable_seq = 0

    def append(self, **kwargs: Any) -> dict[str, Any]:
        self.seq += 1
        self.calls.append(kwargs)
        return {"seq": self.seq, **kwargs}


times = st.lists(
    st.tuples(st.integers(-1500, 1500) | st.integers(0, 10**13), st.integers(0, 2500)),
    min_size=1,
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(steps=times)
def test_the_sinks_cached_times_are_the_reference_times(steps: list[tuple[int, int]]) -> None:
    writer, file_writer = CapturingWriter(), CapturingWriter()
    wall = [START]
    journal = ProjectingSink(
        writer, None, Projection(), log_id=lambda: "log", stage="paper",  # type: ignore[arg-type]
        step_ms=lambda: wall[0] // 7, wall_ms=lambda: wall[0],
    )  # fmt: skip
    sink = FileDecisionSink(file_writer, "paper", wall_ms=lambda: wall[0])  # type: ignore[arg-type]
    ts = START
    for jump, wall_step in steps:
        ts = jump if jump > 1500 else max(ts + jump, 0)
        wall[0] = max(wall[0] + wall_step - 1000, 0)
        record = DecisionRecord("signal", "emitted", ts, {"s": "x"}, {"confidence": 0.5, "ts_ms": -1})
        journal.record(record)
        sink.record(record)
        seen, file_seen = writer.calls[-1], file_writer.calls[-1]
        assert seen["metadata"] == {
            "confidence": 0.5, "ts_ms": ts, "market_time": market_reference(ts), "step_ms": wall[0] // 7
        }  # fmt: skip
        assert seen["timestamp"] == datetime.fromtimestamp(wall[0] // 1000, tz=UTC).replace(
            microsecond=wall[0] % 1000 * 1000
        )
        assert file_seen["metadata"] == {"confidence": 0.5, "ts_ms": ts, "market_time": market_reference(ts)}
        assert file_seen["timestamp"] == datetime.fromtimestamp(wall[0] / 1000, tz=UTC)
        assert record.metadata == {"confidence": 0.5, "ts_ms": -1}  # the record's own dict is not changed
