"""The one-pass encoder of common entries writes exactly the bytes of the spliced reference encoder
(two canonical halves around the signature), signed or not, for any JSON content. (That the
writer's lines verify is tested with the verifier in tests/unit/test_decision_log_verify.py.)"""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tradeops.decision_log.entry import encode_entry, encode_entry_spliced
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
# Text that looks like a signature member inside values must not confuse the splice.
tricky = st.sampled_from(['"signature":{"algorithm":"HMAC-SHA256","key_id":"prop"}', "signature", ""])


@settings(max_examples=300, deadline=None)
@given(
    artefacts=objects,
    metadata=objects,
    stage=st.text(min_size=1, max_size=8) | tricky.filter(bool),
    tags=st.lists(st.text(max_size=6) | tricky, max_size=3),
    key=st.sampled_from([KEY, KEY384, None]),
    nested_signature=st.booleans(),
)
def test_one_pass_encoding_equals_the_spliced_reference(
    artefacts, metadata, stage, tags, key, nested_signature
) -> None:
    if nested_signature and key is not None:
        metadata = {**metadata, "signature": key.unsigned_signature}
    fields = {
        "kind": "fill",
        "stage": stage,
        "status": "filled",
        "timestamp": "2026-12-01T12:00:00.123000+00:00",
        "artefacts": artefacts,
        "metadata": metadata,
        "tags": tags,
        "seq": 7,
        "prev_hash": "sha256:" + "ab" * 32,
        "log_id": "0f" * 16,
        "key": key,
    }
    entry, line = encode_entry(**fields)
    ref_entry, ref_line = encode_entry_spliced(**fields)
    assert line == ref_line
    assert entry == ref_entry
    assert list(entry) == list(ref_entry)
    assert json.loads(line) == json.loads(ref_line)
    if key is not None:
        assert entry["signature"] == ref_entry["signature"]
