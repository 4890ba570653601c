"""Walking a log's hash chain for replay: entries with the head hash after each, and the log's identity.

A log's identity is the hash of its first line: it names one chain for as long as it exists, so a
state store can tell whether a log is the one it was projected from. The walk checks seq and
prev_hash links (not signatures: `tradeops state check` and `decision-log verify` do that).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tradeops.decision_log.entry import genesis_hash, line_hash, parse_hash
from tradeops.decision_log.keys import HashAlgorithm
from tradeops.domain.errors import TamperDetected, UserInputError


class ChainBroken(TamperDetected):
    """The chain does not verify at some line (edited, removed or inserted lines)."""


def _algorithm(prev_hash: Any, path: Path, number: int) -> HashAlgorithm:
    parsed = parse_hash(prev_hash) if isinstance(prev_hash, str) else None
    if parsed is None:
        raise ChainBroken(f"{path}:{number}: prev_hash is not <alg>:<hex>")
    return parsed[0]


def log_identity(path: str | Path) -> str | None:
    """`<alg>:<hex>` of the log's first line (None for an absent or empty log)."""
    path = Path(path)
    if not path.exists():
        return None
    with path.open("rb") as handle:
        first = handle.readline()
    if not first.endswith(b"\n"):
        return None
    try:
        entry = orjson.loads(first)
    except orjson.JSONDecodeError:
        raise ChainBroken(f"{path}:1: not valid JSON") from None
    if not isinstance(entry, dict):
        raise ChainBroken(f"{path}:1: not a JSON object")
    return line_hash(first[:-1], _algorithm(entry.get("prev_hash"), path, 1))


@dataclass(frozen=True, slots=True)
class ChainCursor:
    """Where a walk stopped: after line `number` (seq `seq`, head `head`), at byte `offset`.
    A walk resumed from a cursor trusts the lines before it (its owner verified them)."""

    offset: int
    number: int
    seq: int
    head: str


def iter_chain(
    path: str | Path, start: ChainCursor | None = None
) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """Yield (seq, head after this line, entry) for every complete line, checking the links.

    A torn last line (no newline) ends the walk; a broken link raises ChainBroken naming the line.
    `start`: resume after a cursor (a follower's warm walk) instead of from the first line.
    """
    for _cursor, entry in walk_chain(path, start):
        yield _cursor.seq, _cursor.head, entry


def walk_chain(
    path: str | Path, start: ChainCursor | None = None
) -> Iterator[tuple[ChainCursor, dict[str, Any]]]:
    """iter_chain with the cursor after each line (what a walk can be resumed from)."""
    path = Path(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UserInputError(f"decision log {path}: cannot read ({exc.strerror})") from None
    with handle:
        head: str | None = None if start is None else start.head
        seq: int | None = None if start is None else start.seq
        offset = 0 if start is None else start.offset
        handle.seek(offset)
        for number, raw in enumerate(handle, 1 if start is None else start.number + 1):
            if not raw.endswith(b"\n"):
                return
            line = raw[:-1]
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                raise ChainBroken(f"{path}:{number}: not valid JSON") from None
            found = entry.get("seq") if isinstance(entry, dict) else None
            if type(found) is not int or (seq is not None and found != seq + 1):
                raise ChainBroken(
                    f"{path}:{number}: seq {found!r} does not follow {seq} (lines removed or inserted)"
                )
            assert isinstance(entry, dict)
            prev = entry.get("prev_hash")
            algorithm = _algorithm(prev, path, number)
            if prev != (genesis_hash(algorithm) if head is None else head):
                raise ChainBroken(f"{path}:{number}: prev_hash does not match line {number - 1}")
            head, seq, offset = line_hash(line, algorithm), found, offset + len(raw)
            yield ChainCursor(offset, number, found, head), entry
