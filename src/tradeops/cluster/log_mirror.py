"""The decision log across hosts: the leader mirrors its log, byte for byte, to a JetStream stream.
One stream message carries a run of whole lines (up to BATCH lines / BATCH_BYTES), with the log
line number of its first line in a header; each publish names the stream sequence it expects last,
so a deposed leader cannot append. An entry counts as durable (is projected into the store) only
once the stream has acknowledged the message that holds it. A follower keeps its local file equal
to the stream, so the host that takes over continues the same chain: one log, one store position,
on every host."""

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
FIRST_LINE = "Tradeops-First-Line"
BATCH = 512  # lines per stream message at most
BATCH_BYTES = 512 * 1024  # and bytes (NATS' default max_payload is 1 MiB)
WINDOW = 8  # messages in flight at once (acknowledged before the next window is sent)


def _last_entry_seq(lines: list[bytes]) -> int | None:
    """The entry seq of the last line that carries one (the genesis line carries none)."""
    for line in reversed(lines):
        seq = orjson.loads(line).get("seq")
        if type(seq) is int:
            return seq
    return None


def _chunks(lines: list[bytes]) -> list[list[bytes]]:
    """Runs of whole lines, each at most BATCH lines and BATCH_BYTES (a longer line goes alone)."""
    chunks: list[list[bytes]] = []
    size = 0
    for line in lines:
        if not chunks or len(chunks[-1]) >= BATCH or size + len(line) > BATCH_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line)
    return chunks


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

    def message(self, seq: int) -> tuple[int, list[bytes]] | None:
        """Stream message `seq`: (log line number of its first line, its lines); None when absent."""

        async def get() -> tuple[int, list[bytes]] | None:
            try:
                msg = await self.conn.js.get_msg(self.stream, seq)
            except Exception:
                return None
            first = int((msg.headers or {}).get(FIRST_LINE, "0"))
            return first, (msg.data or b"").splitlines(keepends=True)

        return self.conn.call(get(), self.timeout)

    def line_count(self, upto: int | None = None) -> int:
        """Log lines the stream holds (up to message `upto`; 0 when empty)."""
        last = self.last_seq() if upto is None else upto
        if last == 0:
            return 0
        found = self.message(last)
        if found is None:
            raise ClusterUnavailable(f"stream {self.stream}: its last message is missing")
        return found[0] + len(found[1]) - 1

    def _locate(self, number: int, last_seq: int) -> int:
        """The message holding log line `number` (binary search on the first-line headers)."""
        low, high = 1, last_seq
        while low < high:
            mid = (low + high + 1) // 2
            found = self.message(mid)
            if found is None:
                raise ClusterUnavailable(f"stream {self.stream}: message {mid} is missing")
            if found[0] <= number:
                low = mid
            else:
                high = mid - 1
        return low

    def lines_from(self, number: int, upto: int | None = None) -> list[bytes]:
        """Log lines `number`.. to the end of the stream (or of message `upto`)."""
        last = self.last_seq() if upto is None else upto
        if last == 0:
            return []
        lines: list[bytes] = []
        for seq in range(self._locate(number, last), last + 1):
            found = self.message(seq)
            if found is None:
                raise ClusterUnavailable(f"stream {self.stream}: message {seq} is missing")
            first, chunk = found
            lines.extend(chunk[max(0, number - first) :])
        return lines

    def line(self, number: int) -> bytes | None:
        """Log line `number` as the stream holds it (None also when the stream cannot say)."""
        try:
            return self.line_strict(number)
        except ClusterUnavailable:
            return None

    def line_strict(self, number: int) -> bytes | None:
        """Log line `number` (reads only the message that holds it); a missing message raises."""
        last = self.last_seq()
        found = self.message(self._locate(number, last)) if last else None
        if found is None or not 0 <= number - found[0] < len(found[1]):
            return None
        return found[1][number - found[0]]

    def sync_file(self, path: Path, upto: int | None = None) -> tuple[int, bool]:
        """Make the local log equal to the stream: append what it lacks; a local log that
        diverged (entries the stream never acknowledged) is moved aside and written afresh.
        Returns (lines appended, replaced). An empty stream leaves the local log alone.
        `upto`: a stream sequence to stop at (the caller's view of the stream's end)."""
        last = self.line_count(upto)
        if last == 0:
            return 0, False
        local = _lines(path)
        replaced = False
        if local and (len(local) > last or self.line_strict(len(local)) != local[-1]):
            aside = path.with_name(f"{path.name}.superseded-{time.time_ns() // 1_000_000}")
            path.rename(aside)
            anchor = path.with_name(path.name + ".anchor")  # it describes the copy moved aside
            if anchor.exists():
                anchor.rename(aside.with_name(aside.name + ".anchor"))
            log.warning("cluster: %s diverged from the stream; moved to %s", path, aside)
            local, replaced = [], True
        if len(local) == last:
            return 0, replaced
        try:
            missing = self.lines_from(len(local) + 1, upto)
        except ClusterUnavailable as exc:
            raise ClusterUnavailable(f"{exc}; run decision-log verify --stream") from exc
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as handle:
            handle.write(b"".join(missing))
            handle.flush()
            os.fsync(handle.fileno())
        return len(missing), replaced


class LogMirror:
    """Publishes new lines of the local log after each group commit; then reports them durable."""

    def __init__(self, stream: StreamLog, path: Path, on_mirrored: Callable[[int], None]) -> None:
        self.stream = stream
        self.path = Path(path)
        self.on_mirrored = on_mirrored
        self._published = stream.last_seq()  # stream messages
        self._lines = stream.line_count()  # log lines they hold
        self._offset = sum(len(line) for line in _lines(self.path)[: self._lines])
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
        chunks = _chunks(lines)
        for first in range(0, len(chunks), WINDOW):
            window = chunks[first : first + WINDOW]
            acks = self.stream.conn.call(self._send(window), self.stream.timeout)
            for chunk, ack in zip(window, acks, strict=True):
                if isinstance(ack, BaseException):
                    raise ClusterUnavailable(f"stream {self.stream.stream}: {ack}") from ack
                if int(ack.seq) != self._published + 1:
                    raise ClusterUnavailable(f"stream {self.stream.stream}: stored at {ack.seq}")
                self._published += 1
                self._lines += len(chunk)
                self._offset += sum(len(line) for line in chunk)
                seq = _last_entry_seq(chunk)
                if seq is not None:
                    self.on_mirrored(seq)  # durable up to the message's last entry, in order

    async def _send(self, window: list[list[bytes]]) -> list[Any]:
        """Pipelined: each publish names the sequence it expects last, so order is enforced by
        the server and a publish racing another host's append is refused."""
        js = self.stream.conn.js
        seq, number = self._published, self._lines + 1
        sends = []
        for i, chunk in enumerate(window):
            headers = {EXPECTED_LAST: str(seq + i), FIRST_LINE: str(number)}
            sends.append(js.publish(self.stream.subject, b"".join(chunk), headers=headers))
            number += len(chunk)
        return await asyncio.gather(*sends, return_exceptions=True)

    def _resync(self) -> bool:
        """After a failed batch: what did the stream take? True when its tail is ours (or nothing
        was taken: retry); False when another host appended (fenced)."""
        try:
            last = self.stream.last_seq()
            if last <= self._published:
                return True
            count = self.stream.line_count()
            local = _lines(self.path)
            if count > len(local) or self.stream.line(count) != local[count - 1]:
                return False
        except ClusterUnavailable:
            return True  # NATS is away: retry later
        self._offset = sum(len(line) for line in local[:count])
        self._published, self._lines = last, count
        seq = _last_entry_seq(local[:count])
        if seq is not None:
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
