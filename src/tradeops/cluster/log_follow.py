"""A follower's copy of the log, kept equal to the stream incrementally.

The first sync compares the whole local file with the stream once (a copy that diverged is moved
aside, as `StreamLog.sync_file` does). From then on the follower remembers the last stream message
it applied, the lines and the bytes of its file: a poll with nothing new costs one `stream_info`;
new messages come in batches through a short-lived pull consumer starting after the remembered
sequence, each checked to start at the line that follows (a message deleted from the stream, or a
local file changed behind the follower's back, falls back to the full comparison)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from tradeops.cluster.connection import ClusterUnavailable
from tradeops.cluster.log_mirror import FIRST_LINE, StreamLog, _lines

FETCH_BATCH = 256  # stream messages per fetch
FETCH_MAX = 4096  # messages per consumer (one catch-up call); the sync loops for more


@dataclass
class FollowStats:
    full_syncs: int = 0  # whole-file comparisons (the first sync, and after a discontinuity)
    fetches: int = 0  # consumer fetches
    messages: int = 0  # stream messages applied


class LogFollower:
    def __init__(self, stream: StreamLog, path: Path) -> None:
        self.stream = stream
        self.path = Path(path)
        self.seq = 0  # the last stream message the local file holds
        self.lines = 0  # lines in the local file
        self.size = -1  # its bytes (-1: not primed)
        self.stats = FollowStats()

    @property
    def primed(self) -> bool:
        return self.size >= 0

    def sync(self) -> int:
        """Bring the local file level with the stream; the lines appended."""
        last = self.stream.last_seq()
        if last == 0:
            return 0  # an empty stream leaves the local log alone
        if not self.primed or last < self.seq or _size(self.path) != self.size:
            return self._prime(last)
        appended = 0
        while self.seq < last:
            appended += self._catch_up(last)
        return appended

    def _prime(self, last: int) -> int:
        self.stats.full_syncs += 1
        self.size = -1
        appended, _replaced = self.stream.sync_file(self.path, upto=last)
        local = _lines(self.path)
        self.seq, self.lines, self.size = last, len(local), _size(self.path)
        return appended

    def _catch_up(self, last: int) -> int:
        messages = self.stream.conn.call(self._fetch(self.seq + 1, last), self.stream.timeout * 4)
        chunks: list[bytes] = []
        seq, lines = self.seq, self.lines
        for stream_seq, first, data in messages:
            if stream_seq != seq + 1 or first != lines + 1:
                break  # a deleted message or a gap: the full comparison names it
            chunks.append(data)
            seq, lines = stream_seq, lines + data.count(b"\n")
        if seq == self.seq:
            self.size = -1
            raise ClusterUnavailable(
                f"stream {self.stream.stream}: message {self.seq + 1} is missing or out of line order; "
                "run decision-log verify --stream"
            )
        self._append(b"".join(chunks))
        self.stats.messages += seq - self.seq
        self.seq, self.lines = seq, lines
        return sum(c.count(b"\n") for c in chunks)

    def _append(self, data: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        self.size += len(data)

    async def _fetch(self, start: int, last: int) -> list[tuple[int, int, bytes]]:
        """Messages `start`..`last` (at most FETCH_MAX) as (stream seq, first line, data)."""
        js = self.stream.conn.js
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=30.0,
            mem_storage=True,
        )
        sub: Any = await js.pull_subscribe(self.stream.subject, stream=self.stream.stream, config=config)
        found: list[tuple[int, int, bytes]] = []
        try:
            end = min(last, start + FETCH_MAX - 1)
            while not found or found[-1][0] < end:
                self.stats.fetches += 1
                try:
                    batch = await sub.fetch(min(FETCH_BATCH, end - start + 1 - len(found)), timeout=1.0)
                except nats.errors.TimeoutError:
                    break  # fewer messages than the sequences suggest (some were deleted)
                for msg in batch:
                    first = int((msg.headers or {}).get(FIRST_LINE, "0"))
                    found.append((int(msg.metadata.sequence.stream), first, msg.data or b""))
                if not batch:
                    break
        finally:
            await _drop(js, sub, self.stream.stream)
        return found


async def _drop(js: Any, sub: Any, stream: str) -> None:
    consumer = getattr(sub, "_consumer", None)
    try:
        await sub.unsubscribe()
        if consumer:
            await js.delete_consumer(stream, consumer)
    except Exception:  # the consumer goes by itself after inactive_threshold
        return


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
