"""`bench cluster`'s follower figures: what keeping a follower's log copy level costs, by the
whole-file comparison (`StreamLog.sync_file`, what every poll did before the follower remembered
its place) and by the incremental follower (`LogFollower`): one poll with nothing new, and catching
up `messages` new stream messages (3 lines each) — fetched one by one, or in batches."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tradeops.cluster.connection import NatsConnection
from tradeops.cluster.log_follow import LogFollower
from tradeops.cluster.log_mirror import EXPECTED_LAST, FIRST_LINE, StreamLog

LINES = 3
IDLE_POLLS = 20


class _Leader:
    def __init__(self, stream: StreamLog) -> None:
        self.stream = stream
        self.seq = 0
        self.lines = 0

    def publish(self, messages: int) -> None:
        async def send() -> None:
            js = self.stream.conn.js
            for _ in range(messages):
                chunk = b"".join(b'{"seq":%d}\n' % (self.lines + i + 1) for i in range(LINES))
                headers = {EXPECTED_LAST: str(self.seq), FIRST_LINE: str(self.lines + 1)}
                await js.publish(self.stream.subject, chunk, headers=headers)
                self.seq, self.lines = self.seq + 1, self.lines + LINES

        self.stream.conn.call(send(), 60.0)


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def follower_sync(conn: NatsConnection, workdir: Path, messages: int) -> dict[str, Any]:
    stream = StreamLog(conn, "bench_follow", "bench.follow", 10.0)
    stream.ensure()
    leader = _Leader(stream)
    leader.publish(messages)
    whole, incremental = workdir / "whole.jsonl", workdir / "incremental.jsonl"
    follower = LogFollower(stream, incremental)
    follower.sync()
    stream.sync_file(whole)
    idle_whole = statistics.median(_timed(lambda: stream.sync_file(whole)) for _ in range(IDLE_POLLS))
    idle_incremental = statistics.median(_timed(follower.sync) for _ in range(IDLE_POLLS))
    leader.publish(messages)
    catch_whole = _timed(lambda: stream.sync_file(whole))
    leader.publish(messages)
    catch_incremental = _timed(follower.sync)
    if not incremental.read_bytes().startswith(whole.read_bytes()):
        raise RuntimeError("bench cluster: the two copies of the log differ")
    return {
        "stream_messages": leader.seq,
        "lines_per_message": LINES,
        "idle_poll_ms": {
            "whole_file": round(idle_whole * 1000, 3),
            "incremental": round(idle_incremental * 1000, 3),
        },
        "catch_up_ms": {
            "messages": messages,
            "whole_file_one_by_one": round(catch_whole * 1000, 1),
            "incremental_batched": round(catch_incremental * 1000, 1),
        },
    }
