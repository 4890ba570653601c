"""Verify a large log on several cores, with the same result as `verify_file` for every input.

The file is split at newlines into chunks. The parent checks the first chunk itself while worker
processes (spawned, so safe with threads in the parent; the key material goes to them over the
pool's pipe, never argv) check the others. A worker cannot know the state the lines before its
chunk leave behind, so it assumes it from its own first line (its seq, and the key it is signed
with, or a rotation's old key) and the genesis' log id, and returns a summary: the assumption, the
end state, the last line, the first bad line. The parent walks the summaries in order: a chunk whose
assumption matches the true state and that passed is taken as is; at the first chunk that failed or
assumed wrongly the parent verifies sequentially from that chunk's first line to the end, with the
true state. So a failure's line and reason are always the sequential ones.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tradeops.decision_log.anchor import Anchor, read_anchor
from tradeops.decision_log.entry import ROTATION_KIND, genesis_hash
from tradeops.decision_log.keys import HashAlgorithm, SigningKey
from tradeops.decision_log.reader import DEFAULT_MAX_LINE_BYTES, newline_before, open_log
from tradeops.decision_log.verify import (
    VerifyResult,
    _Checker,
    _expected_head,
    _Scan,
    _scan_lines,
    finish,
    repair_hint,
    verify_file,
)

MIN_CHUNK_BYTES = 8 << 20  # below this per chunk, starting a process costs more than it saves

KeyMaterial = tuple[tuple[str, str, bytes, HashAlgorithm], ...]  # (keyring name, key id, secret, algorithm)


@dataclass(frozen=True, slots=True)
class ChunkJob:
    path: str
    start: int
    end: int | None  # offset just after the chunk's last newline; None: the end of the file
    prev_line: bytes
    keys: KeyMaterial = field(repr=False)  # secrets: over the pool's pipe, never in a repr
    allow_unsigned: bool
    log_id: str | None
    expected: tuple[HashAlgorithm, str] | None
    anchor: Anchor | None
    max_line_bytes: int


@dataclass(frozen=True, slots=True)
class ChunkSummary:
    start: int
    first_number: int | None  # assumed: the seq of the chunk's first line (None: unreadable)
    log_id: str | None  # assumed
    key_id: str | None  # assumed key at the chunk's start; after it: end_key_id
    failure: tuple[int, str] | None
    number: int
    last_line: bytes | None
    last_alg: str
    end_key_id: str | None
    key_since: int | None  # the last rotation's line in this chunk
    unsigned: int
    rotations: int
    found: int | None
    anchored_hash: str | None


class _Bounded:
    """A file handle whose readline stops at `end` (a chunk's end follows a newline)."""

    def __init__(self, handle: Any, end: int | None) -> None:
        self._handle, self._left = handle, (1 << 62) if end is None else end - handle.tell()
        self.read = handle.read  # past the end: only the torn-last-line test reads on

    def readline(self, limit: int) -> bytes:
        if self._left <= 0:
            return b""
        raw: bytes = self._handle.readline(min(limit, self._left))
        self._left -= len(raw)
        return raw


def _assumed_start(first: bytes) -> tuple[int | None, str | None]:
    """(seq, key id in force before it) as the chunk's first line claims them."""
    try:
        entry = orjson.loads(first)
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(entry, dict):
        return None, None
    seq, signature, rotation = entry.get("seq"), entry.get("signature"), entry.get("key_rotation")
    key_id = signature.get("key_id") if isinstance(signature, dict) else None
    if entry.get("kind") == ROTATION_KIND and isinstance(rotation, dict):
        key_id = rotation.get("from_key_id")
    return (seq if type(seq) is int else None), (key_id if type(key_id) is str else None)


def verify_chunk(job: ChunkJob) -> ChunkSummary:
    """Check one chunk from an assumed start state (the worker's task)."""
    keyring = {name: SigningKey(key_id, secret, alg) for name, key_id, secret, alg in job.keys}
    checker = _Checker(keyring, job.allow_unsigned)
    path = Path(job.path)
    with open_log(path) as handle:
        handle.seek(job.start)
        first_number, key_id = _assumed_start(handle.readline(job.max_line_bytes + 1).rstrip(b"\n"))
        checker.log_id, checker.key_id = job.log_id, key_id
        number = (first_number or 1) - 1
        scan = _Scan(number=number, prev_line=job.prev_line)
        handle.seek(job.start)
        failure = _scan_lines(
            _Bounded(handle, job.end), checker, scan, job.expected, job.anchor, job.max_line_bytes,
            repair_hint(path),
        )  # fmt: skip
    return ChunkSummary(
        job.start, first_number, job.log_id, key_id, failure, scan.number, scan.prev_line, scan.last_alg,
        checker.key_id, checker.key_since if checker.rotations else None, checker.unsigned,
        checker.rotations, scan.found, scan.anchored_hash,
    )  # fmt: skip


def _boundaries(path: Path, size: int, chunks: int, max_line_bytes: int) -> list[tuple[int, bytes]]:
    """(offset, line before it) of each chunk after the first: just after a newline near each
    even split, skipping any split whose line is over the cap (the scan fails there anyway)."""
    found: list[tuple[int, bytes]] = []
    with open_log(path) as handle:
        for index in range(1, chunks):
            handle.seek(size * index // chunks)
            newline = handle.read(max_line_bytes + 1).find(b"\n")
            if newline < 0:
                continue
            end = size * index // chunks + newline
            before = newline_before(handle, end, max_line_bytes + 1)
            if before is None or end + 1 >= size or (found and end + 1 <= found[-1][0]):
                continue
            handle.seek(before + 1)
            found.append((end + 1, handle.read(end - before - 1)))
    return found


def _first_log_id(path: Path, max_line_bytes: int) -> str | None:
    with open_log(path) as handle:
        try:
            entry = orjson.loads(handle.readline(max_line_bytes + 1))
        except orjson.JSONDecodeError:
            return None
    log_id = entry.get("log_id") if isinstance(entry, dict) else None
    return log_id if isinstance(log_id, str) else None


class _Workers:
    """The chunks' jobs on spawned worker processes, started at once; their summaries in order."""

    def __init__(self, chunks: Iterable[ChunkJob]) -> None:
        work = list(chunks)
        self._pool = ProcessPoolExecutor(len(work), mp_context=multiprocessing.get_context("spawn"))
        self._futures = iter([self._pool.submit(verify_chunk, job) for job in work])

    def __iter__(self) -> Iterator[ChunkSummary]:
        return self

    def __next__(self) -> ChunkSummary:
        return next(self._futures).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def auto_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def verify_file_parallel(
    path: str | Path,
    *,
    keyring: Mapping[str, SigningKey],
    expect_head: str | None = None,
    allow_unsigned: bool = False,
    check_anchor: bool = True,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    jobs: int | None = None,
    min_chunk_bytes: int | None = None,
    chunk_map: Callable[[Iterable[ChunkJob]], Iterator[ChunkSummary]] | None = None,
) -> VerifyResult:
    """`verify_file` on up to `jobs` cores (default: the usable CPUs); a log under two chunks'
    worth of `min_chunk_bytes` (default MIN_CHUNK_BYTES) is verified in this process alone.
    `chunk_map` runs the jobs of the chunks after the first (default: spawned worker processes)."""
    path = Path(path)
    jobs = auto_jobs() if jobs is None else jobs
    size = path.stat().st_size if path.is_file() else 0
    chunks = min(jobs, size // max(MIN_CHUNK_BYTES if min_chunk_bytes is None else min_chunk_bytes, 1))
    splits = _boundaries(path, size, chunks, max_line_bytes) if chunks > 1 else []
    if not splits:
        return verify_file(
            path, keyring=keyring, expect_head=expect_head, allow_unsigned=allow_unsigned,
            check_anchor=check_anchor, max_line_bytes=max_line_bytes,
        )  # fmt: skip
    expected = _expected_head(expect_head)
    anchor: Anchor | None = None
    if check_anchor:
        anchor, problem = read_anchor(path, keyring, allow_unsigned=allow_unsigned)
        if problem is not None:
            return VerifyResult(False, 0, "", 0, problem, str(path))
    keys = tuple((name, key.key_id, key.secret, key.algorithm) for name, key in keyring.items())
    log_id = _first_log_id(path, max_line_bytes)
    ends: list[int | None] = [*(offset for offset, _ in splits[1:]), None]
    work = [
        ChunkJob(str(path), start, end, prev, keys, allow_unsigned, log_id, expected, anchor, max_line_bytes)
        for (start, prev), end in zip(splits, ends, strict=True)
    ]
    summaries = (chunk_map or _Workers)(work)
    checker, scan = _Checker(keyring, allow_unsigned), _Scan()
    if expected is not None and expected[1] == genesis_hash(expected[0]):
        scan.found = 0
    repair = repair_hint(path)
    try:
        with open_log(path) as handle:
            first = _Bounded(handle, splits[0][0])
            failure = _scan_lines(first, checker, scan, expected, anchor, max_line_bytes, repair)
            for summary in summaries if failure is None else ():
                if not _take(summary, checker, scan):
                    handle.seek(summary.start)
                    failure = _scan_lines(handle, checker, scan, expected, anchor, max_line_bytes, repair)
                    break
    finally:
        close = getattr(summaries, "close", None)
        if close is not None:
            close()  # the workers stop (a chunk left unread was checked sequentially above)
    return finish(path, checker, scan, failure, anchor, expect_head, check_anchor)


def _take(summary: ChunkSummary, checker: _Checker, scan: _Scan) -> bool:
    """Fold a chunk's summary into the true state; False when it cannot be taken (it failed, or it
    assumed a state other than the one the lines before it leave)."""
    if (
        summary.failure is not None
        or summary.first_number != scan.number + 1
        or summary.log_id != checker.log_id
        or summary.key_id != checker.key_id
    ):
        return False
    checker.key_id = summary.end_key_id
    if summary.key_since is not None:
        checker.key_since = summary.key_since
    checker.unsigned += summary.unsigned
    checker.rotations += summary.rotations
    scan.number, scan.prev_line, scan.last_alg = summary.number, summary.last_line, summary.last_alg
    if scan.found is None:
        scan.found = summary.found
    if summary.anchored_hash is not None:
        scan.anchored_hash = summary.anchored_hash
    return True
