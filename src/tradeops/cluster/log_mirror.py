"""The decision log across hosts: the leader mirrors every line of its log, byte for byte, to a
JetStream stream (stream sequence = line number; each publish names the sequence it expects last,
so a deposed leader cannot append). An entry counts as durable (is projected into the store) only
once the stream has acknowledged it. A follower keeps its local file equal to the stream, so the
host that takes over continues the same chain: one log, one store position, on every host."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from nats.js.api import StorageType, StreamConfig

from tradeops.cluster.connection import ClusterUnavailable, NatsConnection

log = logging.getLogger(__name__)
EXPECTED_LAST = "Nats-Expected-Last-Sequence"
RETRY_S = 0.2
BATCH = 256  # publishes in flight at once


def _lines(path: Path) -> list[bytes]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    complete = data[: data.rfind(b"\n") + 1]
    return [line + b"\n" for line in complete.split(b"\n")[:-1]]


class StreamLog:
    """Reading and creating the stream of one environment's log."""

    def __init__(self, conn: NatsConnection, stream: str, subject: str, timeout: float) -> None:
        self.conn = conn
        self.stream = stream
        self.subject = subject
        self.timeout = timeout

    def ensure(self) -> None:
        async def make() -> None:
            try:
                await self.conn.js.stream_info(self.stream)
            except Exception:
                config = StreamConfig(name=self.stream, subjects=[self.subject], storage=StorageType.FILE)
                await self.conn.js.add_stream(config=config)

        self.conn.call(make(), self.timeout)

    def last_seq(self) -> int:
        async def info() -> int:
            return int((await self.conn.js.stream_info(self.stream)).state.last_seq)

        return self.conn.call(info(), self.timeout)

    def line(self, seq: int) -> bytes | None:
        async def get() -> bytes | None:
            try:
                return bytes((await self.conn.js.get_msg(self.stream, seq)).data or b"")
            except Exception:
                return None

        return self.conn.call(get(), self.timeout)

    def lines(self, first: int, last: int) -> list[bytes | None]:
        return [self.line(seq) for seq in range(first, last + 1)]

    def sync_file(self, path: Path) -> tuple[int, bool]:
        """Make the local log equal to the stream: append what it lacks; a local log that
        diverged (entries the stream never acknowledged) is moved aside and written afresh.
        Returns (lines appended, replaced). An empty stream leaves the local log alone."""
        last = self.last_seq()
        if last == 0:
            return 0, False
        local = _lines(path)
        replaced = False
        if local and (len(local) > last or self.line(len(local)) != local[-1]):
            aside = path.with_name(f"{path.name}.superseded-{time.time_ns() // 1_000_000}")
            path.rename(aside)
            log.warning("cluster: %s diverged from the stream; moved to %s", path, aside)
            local, replaced = [], True
        missing = self.lines(len(local) + 1, last)
        if any(line is None for line in missing):
            raise ClusterUnavailable(f"stream {self.stream}: an entry is missing; run decision-log verify")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as handle:
            handle.write(b"".join(line for line in missing if line is not None))
            handle.flush()
            os.fsync(handle.fileno())
        return len(missing), replaced


class LogMirror:
    """Publishes new lines of the local log after each group commit; then reports them durable."""

    def __init__(self, stream: StreamLog, path: Path, on_mirrored: Callable[[int], None]) -> None:
        self.stream = stream
        self.path = Path(path)
        self.on_mirrored = on_mirrored
        self._published = stream.last_seq()
        self._offset = sum(len(line) for line in _lines(self.path)[: self._published])
        self._wanted = threading.Event()
        self._stop = threading.Event()
        self.fenced: str | None = None
        self.failures = 0
        self._thread = threading.Thread(target=self._run, name="log-mirror", daemon=True)
        self._thread.start()

    def notify(self, _seq: int) -> None:
        """The writer's durable callback: new lines are on disk (never blocks the writer)."""
        self._wanted.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wanted.wait(0.5)
            self._wanted.clear()
            try:
                self._publish_new()
            except ClusterUnavailable as exc:
                self.failures += 1
                if self._resync():
                    self._wanted.set()
                    self._stop.wait(RETRY_S)
                    continue
                self.fenced = str(exc)
                log.error("cluster: log mirror fenced (another host appended to the stream): %s", exc)
                return

    def _publish_new(self) -> None:
        with self.path.open("rb") as handle:
            handle.seek(self._offset)
            data = handle.read()
        lines = [raw + b"\n" for raw in data[: data.rfind(b"\n") + 1].split(b"\n")[:-1]]
        for first in range(0, len(lines), BATCH):
            chunk = lines[first : first + BATCH]
            acks = self.stream.conn.call(self._send(chunk), self.stream.timeout)
            for line, ack in zip(chunk, acks, strict=True):
                if isinstance(ack, BaseException):
                    raise ClusterUnavailable(f"stream {self.stream.stream}: {ack}") from ack
                self._published = int(ack.seq)
                self._offset += len(line)
                seq = orjson.loads(line).get("seq")
                if type(seq) is int:
                    self.on_mirrored(seq)

    async def _send(self, chunk: list[bytes]) -> list[Any]:
        """Pipelined: each publish names the sequence it expects last, so order is enforced by
        the server and a publish racing another host's append is refused."""
        js = self.stream.conn.js
        base = self._published
        return await asyncio.gather(
            *(
                js.publish(self.stream.subject, line, headers={EXPECTED_LAST: str(base + i)})
                for i, line in enumerate(chunk)
            ),
            return_exceptions=True,
        )

    def _resync(self) -> bool:
        """After a failed batch: what did the stream take? True when its tail is ours (or nothing
        was taken: retry); False when another host appended (fenced)."""
        try:
            last = self.stream.last_seq()
            local = _lines(self.path)
            if last <= self._published:
                return True
            if last > len(local) or self.stream.line(last) != local[last - 1]:
                return False
        except ClusterUnavailable:
            return True  # NATS is away: retry later
        self._offset = sum(len(line) for line in local[:last])
        self._published = last
        seq = orjson.loads(local[last - 1]).get("seq")
        if type(seq) is int:
            self.on_mirrored(seq)
        return True

    def close(self) -> None:
        """Publish what is on disk (bounded), then stop."""
        deadline = time.monotonic() + self.stream.timeout
        self._wanted.set()
        while time.monotonic() < deadline and self.fenced is None and self._behind():
            time.sleep(0.02)
        self._stop.set()
        self._wanted.set()
        self._thread.join(timeout=2.0)

    def _behind(self) -> bool:
        try:
            return self.path.stat().st_size > self._offset
        except OSError:
            return False
