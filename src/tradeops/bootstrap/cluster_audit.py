"""`tradeops decision-log verify --stream`: the account's log as the cluster holds it.

The stream is read message by message (each a run of whole log lines) into a scratch file and
verified like a log (bytes, chain, signatures, key rotations); a message missing from the stream
(deleted), or one whose first line does not follow the previous message, fails by its sequence. Each
local copy given (every host keeps one) must be a prefix of the stream, byte for byte: a copy
edited after it was mirrored fails at its first differing line; its own anchor is checked by the
ordinary verify that follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tradeops.bootstrap.cluster import open_node
from tradeops.config.models import AppConfig


@dataclass(frozen=True, slots=True)
class StreamCopy:
    entries: int
    missing: tuple[int, ...]  # stream messages deleted from the stream (or out of line order)


def download_stream(cfg: AppConfig, environment: str, target: Path) -> StreamCopy:
    node = open_node(cfg, environment)
    try:
        last = node.stream.last_seq()
        missing = []
        number = 1  # the log line the next message must start at
        with target.open("wb") as handle:
            for seq in range(1, last + 1):
                found = node.stream.message(seq)
                if found is None or found[0] != number:
                    missing.append(seq)
                    if found is None:
                        continue
                first, lines = found
                handle.write(b"".join(lines))
                number = first + len(lines)
        return StreamCopy(number - 1, tuple(missing))
    finally:
        node.close()


def first_difference(local: Path, stream_copy: Path) -> int | None:
    """The first line of `local` that is not the stream's line (None: a prefix of the stream)."""
    stream_lines = stream_copy.read_bytes().splitlines(keepends=True)
    for number, line in enumerate(local.read_bytes().splitlines(keepends=True), 1):
        if number > len(stream_lines) or stream_lines[number - 1] != line:
            return number
    return None
