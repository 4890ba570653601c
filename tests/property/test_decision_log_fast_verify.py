"""Verify's fast path (an ordinary line checked by its MAC over its own bytes, without
re-serialisation) accepts only what the rule-by-rule check accepts: for any mutated log, verify gives
the same result with the fast path switched off; a line edited and re-signed with a wrong key (or
the right key under another id) fails at that line either way."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.property.test_decision_log_tamper import KEYRING, SCRATCH, build_log, entries, mutate, mutations
from tradeops.decision_log.canonical import canonical_bytes
from tradeops.decision_log.entry import signed_bytes
from tradeops.decision_log.keys import SigningKey
from tradeops.decision_log.verify import VerifyResult, _Checker, verify_file

WRONG = SigningKey("2025-q4", b"not-the-secret", "sha256")  # the log's key id, another secret


def resign(data: bytes, at: int, key: SigningKey) -> bytes:
    """Edit line `at` (its status) and sign it again with `key`, in canonical form."""
    lines = data.splitlines()
    at = 1 + at % (len(lines) - 1)  # not the genesis entry
    entry = json.loads(lines[at])
    entry["status"] = entry["status"] + "!"
    entry["signature"] = {"algorithm": key.signature_algorithm, "key_id": key.key_id}
    entry["signature"]["value"] = key.signature_value(signed_bytes(entry))
    lines[at] = canonical_bytes(entry)
    return b"".join(line + b"\n" for line in lines)


def both_ways(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[VerifyResult, VerifyResult]:
    fast = verify_file(path, keyring=KEYRING)
    with monkeypatch.context() as patch:
        patch.setattr(_Checker, "fast_ok", lambda *_args: False)
        slow = verify_file(path, keyring=KEYRING)
    return fast, slow


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    specs=st.lists(entries, min_size=1, max_size=4),
    rotate_at=st.none() | st.integers(min_value=0, max_value=3),
    mutation=mutations | st.tuples(st.just("resign"), st.integers(min_value=0, max_value=100)),
)
def test_the_fast_path_agrees_with_the_rule_by_rule_check(specs, rotate_at, mutation, monkeypatch):
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        path, second = Path(tmp) / "log.jsonl", Path(tmp) / "second.jsonl"
        build_log(path, specs, rotate_at)
        build_log(second, specs, rotate_at)
        original = path.read_bytes()
        if mutation[0] == "resign":
            changed = resign(original, mutation[1], WRONG)
        else:
            changed = mutate(original, second.read_bytes().splitlines(), mutation)
        path.write_bytes(changed)
        fast, slow = both_ways(path, monkeypatch)
        assert fast == slow, mutation
        if mutation[0] == "resign":
            assert not fast.ok
            assert fast.first_error_line == 2 + mutation[1] % (len(original.splitlines()) - 1)
