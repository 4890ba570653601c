"""Default verify fails on every mutation that changes a log's content or order, at the first line
that differs, and passes on the untouched log: byte edits, line deletes, inserts, reorders,
duplicates, truncation at any offset, splices from a second log signed with the same key, key-id
and algorithm edits, and re-serialisation. Logs may contain a key rotation."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeops.decision_log.anchor import anchor_path
from tradeops.decision_log.canonical import canonical_bytes
from tradeops.decision_log.keys import SigningKey
from tradeops.decision_log.verify import verify_file
from tradeops.decision_log.writer import DecisionLogWriter

OLD, NEW = SigningKey("2025-q4", b"old-secret", "sha256"), SigningKey("2026-q1", b"new-secret", "sha256")
TWIN = SigningKey("2025-q4-twin", b"old-secret", "sha256")  # another id with the same secret
KEYRING = {key.key_id: key for key in (OLD, NEW, TWIN)}
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
    }
)
index = st.integers(min_value=0, max_value=10_000)
mutations = st.one_of(
    st.tuples(st.just("flip"), index, st.integers(min_value=0), st.integers(min_value=1, max_value=255)),
    st.tuples(st.just("delete"), index),
    st.tuples(st.just("swap"), index, st.integers(min_value=1, max_value=10_000)),
    st.tuples(st.just("duplicate"), index, index),
    st.tuples(st.just("truncate"), st.integers(min_value=0)),
    st.tuples(st.just("splice"), index),
    st.tuples(st.just("splice_insert"), index, index),
    st.tuples(st.just("key_id"), index),
    st.tuples(st.just("algorithm"), index),
    st.tuples(st.just("reserialise"), index, st.sampled_from(["spaces", "ascii", "reversed"])),
)


# Many small logs: on tmpfs when the machine has one (fsync costs nothing there).
SCRATCH = "/dev/shm" if Path("/dev/shm").is_dir() else None


def build_log(path: Path, specs: list[dict], rotate_at: int | None) -> None:
    with DecisionLogWriter(path, OLD) as writer:
        for number, spec in enumerate(specs):
            if number == rotate_at:
                writer.rotate_key(NEW, stage="stage4", reason="scheduled")
            writer.append(kind="decision", stage="stage4", **spec)


def first_difference(original: list[bytes], changed: list[bytes]) -> int:
    """1-based number of the first line that differs (one past the end when `changed` is a prefix)."""
    for number, (before, after) in enumerate(zip(original, changed, strict=False), 1):
        if before != after:
            return number
    return min(len(original), len(changed)) + 1


def _signature_edit(line: bytes, field: str) -> bytes | None:
    entry = json.loads(line)
    signature = entry.get("signature")
    if signature is None:
        return None
    if field == "key_id":
        signature["key_id"] = TWIN.key_id if signature["key_id"] != TWIN.key_id else OLD.key_id
    else:
        signature["algorithm"] = "HMAC-SHA384" if signature["algorithm"] == "HMAC-SHA256" else "HMAC-SHA256"
    return canonical_bytes(entry)


def _reserialise(line: bytes, how: str) -> bytes:
    entry = json.loads(line)
    if how == "spaces":
        return json.dumps(entry, sort_keys=True, ensure_ascii=False).encode()
    if how == "ascii":
        return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    return json.dumps(dict(reversed(list(entry.items()))), separators=(",", ":"), ensure_ascii=False).encode()


def mutate(data: bytes, other: list[bytes], mutation: tuple) -> bytes:
    """The log's bytes after one mutation (possibly identical to `data`: the caller checks)."""
    lines = data.splitlines()
    kind, at = mutation[0], mutation[1] % len(lines) if mutation[0] != "truncate" else 0
    if kind == "truncate":
        return data[: mutation[1] % (len(data) + 1)]
    if kind == "flip":
        line = bytearray(lines[at])
        line[mutation[2] % len(line)] ^= mutation[3]
        lines[at] = bytes(line)
    elif kind == "delete":
        del lines[at]
    elif kind == "swap":
        second = (at + mutation[2]) % len(lines)
        lines[at], lines[second] = lines[second], lines[at]
    elif kind == "duplicate":
        lines.insert(mutation[2] % (len(lines) + 1), lines[at])
    elif kind == "splice":
        lines[at] = other[at % len(other)]
    elif kind == "splice_insert":
        lines.insert(at, other[mutation[2] % len(other)])
    elif kind in ("key_id", "algorithm"):
        edited = _signature_edit(lines[at], kind)
        lines[at] = edited if edited is not None else lines[at]
    else:
        lines[at] = _reserialise(lines[at], mutation[2])
    return b"".join(line + b"\n" for line in lines)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    specs=st.lists(entries, min_size=1, max_size=5),
    rotate_at=st.none() | st.integers(min_value=0, max_value=4),
    mutation=mutations,
)
def test_every_mutation_fails_default_verify_at_its_line(specs, rotate_at, mutation):
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        path, second = Path(tmp) / "log.jsonl", Path(tmp) / "second.jsonl"
        build_log(path, specs, rotate_at)
        build_log(second, specs, rotate_at)  # the same content and key: another log
        assert verify_file(path, keyring=KEYRING).ok
        original = path.read_bytes()
        changed = mutate(original, second.read_bytes().splitlines(), mutation)
        if changed == original:
            return  # the mutation happened to change nothing: still a valid log
        saved = Path(tmp) / "saved.anchor"
        shutil.copyfile(anchor_path(path), saved)
        path.write_bytes(changed)
        result = verify_file(path, keyring=KEYRING)
        assert not result.ok, (mutation, result)
        expected = first_difference(original.splitlines(), changed.splitlines())
        if changed and not changed.endswith(b"\n"):  # a cut inside a line, or just its newline
            expected = min(expected, changed.count(b"\n") + 1)
        if mutation[0].startswith("splice"):
            # A genesis spliced in from the second log is itself valid: the next line fails.
            assert result.first_error_line in (expected, expected + 1), (mutation, result)
        else:
            assert result.first_error_line == expected, (mutation, result)
        assert anchor_path(path).read_bytes() == saved.read_bytes()  # verify never writes


@settings(max_examples=300)
@given(value=json_values)
def test_canonical_bytes_equal_the_standard_library(value):
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert canonical_bytes(value) == expected
