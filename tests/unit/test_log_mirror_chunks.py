"""The mirror's stream messages: runs of whole log lines, bounded in lines and bytes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tradeops.cluster.log_mirror import BATCH, BATCH_BYTES, _chunks

LINES = st.lists(st.binary(max_size=3000).map(lambda b: b.replace(b"\n", b"x") + b"\n"), max_size=1500)


@given(LINES)
def test_chunks_keep_every_line_in_order_within_the_bounds(lines: list[bytes]) -> None:
    chunks = _chunks(lines)
    assert [line for chunk in chunks for line in chunk] == lines
    for chunk in chunks:
        assert 1 <= len(chunk) <= BATCH
        assert len(chunk) == 1 or sum(len(line) for line in chunk) <= BATCH_BYTES


def test_a_line_longer_than_the_byte_bound_goes_alone() -> None:
    big = b"x" * BATCH_BYTES + b"\n"
    assert _chunks([b"a\n", big, b"b\n"]) == [[b"a\n"], [big], [b"b\n"]]
