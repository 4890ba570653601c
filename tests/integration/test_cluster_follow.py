"""A follower's log copy on a real nats-server: one whole-file comparison, then incremental batches
(remembered sequence and offset); a deleted stream message or a local file changed behind the
follower's back falls back to the full comparison."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.cluster_harness import nats_connection
from tradeops.cluster.connection import ClusterUnavailable
from tradeops.cluster.log_follow import LogFollower
from tradeops.cluster.log_mirror import EXPECTED_LAST, FIRST_LINE, StreamLog

pytestmark = pytest.mark.services


@pytest.fixture
def stream(tmp_path: Path):
    with nats_connection(tmp_path / "js", "follow-test") as conn:
        log = StreamLog(conn, "follow_test", "follow.test", 2.0)
        log.ensure()
        yield log


class Leader:
    """Appends runs of lines to the stream as the leader's mirror does."""

    def __init__(self, stream: StreamLog) -> None:
        self.stream = stream
        self.lines: list[bytes] = []
        self.seq = 0

    def append(self, count: int) -> None:
        chunk = [b'{"seq":%d}\n' % (len(self.lines) + i + 1) for i in range(count)]
        headers = {EXPECTED_LAST: str(self.seq), FIRST_LINE: str(len(self.lines) + 1)}
        js = self.stream.conn.js
        self.stream.conn.call(js.publish(self.stream.subject, b"".join(chunk), headers=headers), 2.0)
        self.lines.extend(chunk)
        self.seq += 1


def test_the_follower_compares_once_then_fetches_only_what_is_new(stream, tmp_path: Path) -> None:
    leader = Leader(stream)
    for _ in range(5):
        leader.append(3)
    path = tmp_path / "copy.jsonl"
    follower = LogFollower(stream, path)
    assert follower.sync() == 15
    assert path.read_bytes() == b"".join(leader.lines)
    assert follower.stats.full_syncs == 1
    assert follower.sync() == 0  # nothing new: no fetch at all
    assert follower.stats.fetches == 0
    for _ in range(600):
        leader.append(2)
    assert follower.sync() == 1200
    assert path.read_bytes() == b"".join(leader.lines)
    assert (follower.seq, follower.lines, follower.stats.messages) == (605, 1215, 600)
    assert follower.stats.full_syncs == 1  # incremental from the remembered sequence
    assert follower.stats.fetches <= 4  # in batches, not one message at a time


def test_a_deleted_message_or_an_edited_copy_falls_back_to_the_full_comparison(stream, tmp_path) -> None:
    leader = Leader(stream)
    leader.append(2)
    path = tmp_path / "copy.jsonl"
    follower = LogFollower(stream, path)
    follower.sync()
    leader.append(2)
    leader.append(2)
    stream.conn.call(stream.conn.js.delete_msg(stream.stream, 2), 2.0)
    with pytest.raises(ClusterUnavailable, match="message 2 is missing"):
        follower.sync()
    assert path.read_bytes() == b"".join(leader.lines[:2])  # nothing past the gap was appended
    with pytest.raises(ClusterUnavailable, match="message 2 is missing"):
        follower.sync()  # the full comparison names it as well
    assert path.read_bytes() == b"".join(leader.lines[:2])  # and keeps the good copy where it is

    other = Leader(StreamLog(stream.conn, "follow_other", "follow.other", 2.0))
    other.stream.ensure()
    other.append(3)
    copy = tmp_path / "other.jsonl"
    second = LogFollower(other.stream, copy)
    second.sync()
    copy.write_bytes(copy.read_bytes().replace(b'"seq":3', b'"seq":30'))  # edited behind its back
    copy.with_name("other.jsonl.anchor").write_bytes(b"the edited copy's anchor\n")
    other.append(1)
    assert second.sync() == 4  # the diverged copy was moved aside and written afresh
    assert copy.read_bytes() == b"".join(other.lines)
    (aside,) = tmp_path.glob("other.jsonl.superseded-*[0-9]")
    assert aside.with_name(aside.name + ".anchor").read_bytes() == b"the edited copy's anchor\n"
    assert not copy.with_name("other.jsonl.anchor").exists()  # the new copy is anchored afresh
    assert second.stats.full_syncs == 2
