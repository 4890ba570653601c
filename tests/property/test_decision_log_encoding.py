"""The encoder writes, for any JSON content, signed or not, with or without extra fields on either
side of "signature": exactly the reference canonical JSON (the standard library's) of the entry it
returns, signed over that entry's signed bytes (the reference form without the signature value).
(That the writer's lines verify is tested with the verifier in tests/unit/test_decision_log_verify.py;
the frozen bytes of format 2 in tests/unit/test_decision_log_golden.py.)"""

from __future__ import annotations

import base64
import hmac
import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tradeops.decision_log.canonical import stdlib_canonical_bytes
from tradeops.decision_log.entry import RESERVED_FIELDS, encode_entry, signed_bytes
from tradeops.decision_log.keys import SigningKey

KEY = SigningKey("prop", b"property-secret-0123456789", "sha256")
KEY384 = SigningKey("prop384", b"another-secret", "sha384")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.decimals(allow_nan=False, allow_infinity=False, places=6).map(Decimal),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
objects = st.dictionaries(st.text(max_size=10), values, max_size=6)
# Text that looks like a signature member inside values must not confuse the encoder.
tricky = st.sampled_from(['"signature":{"algorithm":"HMAC-SHA256","key_id":"prop"}', "signature", ""])
extra_names = (
    st.text(min_size=1, max_size=10) | st.sampled_from(["alpha", "signaturf", "signatur", "zeta"])
).filter(lambda name: name not in RESERVED_FIELDS)


def reference(value):
    """What the standard library makes of `value` (Decimals as the encoder writes them)."""
    return json.loads(stdlib_canonical_bytes(value))


@settings(max_examples=300, deadline=None)
@given(
    artefacts=objects,
    metadata=objects,
    stage=st.text(min_size=1, max_size=8) | tricky.filter(bool),
    tags=st.lists(st.text(max_size=6) | tricky, max_size=3),
    key=st.sampled_from([KEY, KEY384, None]),
    nested_signature=st.booleans(),
    extra=st.dictionaries(extra_names, values, max_size=3),
)
def test_the_line_is_the_reference_canonical_form_of_the_entry_and_signed_over_it(
    artefacts, metadata, stage, tags, key, nested_signature, extra
) -> None:
    if nested_signature and key is not None:
        # A signature object followed by "stage" inside a value, as the top-level one is.
        metadata = {**metadata, "signature": key.unsigned_signature, "stage": stage}
        extra = {name: {"signature": key.unsigned_signature, "v": value} for name, value in extra.items()}
    entry, line = encode_entry(
        kind="fill",
        stage=stage,
        status="filled",
        timestamp="2026-12-01T12:00:00.123000+00:00",
        artefacts=artefacts,
        metadata=metadata,
        tags=tags,
        seq=7,
        prev_hash="sha256:" + "ab" * 32,
        log_id="0f" * 16,
        key=key,
        extra=extra,
    )
    assert line == stdlib_canonical_bytes(entry)
    assert json.loads(line) == reference(entry)
    assert reference(entry["artefacts"]) == reference(artefacts)
    assert reference(entry["metadata"]) == reference(metadata)
    assert {name: entry[name] for name in extra} == extra
    if key is None:
        assert "signature" not in entry
        return
    signature = entry["signature"]
    assert (signature["algorithm"], signature["key_id"]) == (key.signature_algorithm, key.key_id)
    expected = hmac.digest(key.secret, signed_bytes(entry), key.algorithm)
    assert signature["value"] == base64.b64encode(expected).decode("ascii")
