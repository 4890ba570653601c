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
from typing import Any

from tradeops.bootstrap.cluster import open_node
from tradeops.bootstrap.cluster_ops_anchor import is_ops_log, verify_merged
from tradeops.cluster.ops_anchor import MergedAnchor, read_merged
from tradeops.config.models import AppConfig


@dataclass(frozen=True, slots=True)
class StreamCopy:
    entries: int
    missing: tuple[int, ...]  # stream messages deleted from the stream (or out of line order)
    ops_anchor: MergedAnchor | None = None  # the merged anchor of the hosts' operations logs


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
        merged, _revision = read_merged(node.conn, node.audit_kv, 2.0)
        return StreamCopy(number - 1, tuple(missing), merged)
    finally:
        node.close()


def first_difference(local: Path, stream_copy: Path) -> int | None:
    """The first line of `local` that is not the stream's line (None: a prefix of the stream)."""
    stream_lines = stream_copy.read_bytes().splitlines(keepends=True)
    for number, line in enumerate(local.read_bytes().splitlines(keepends=True), 1):
        if number > len(stream_lines) or stream_lines[number - 1] != line:
            return number
    return None


def check_copies(
    found: StreamCopy, stream_copy: Path, paths: list[Path], keyring: Any, allow_unsigned: bool
) -> tuple[bool, list[str]]:
    """Each PATH against the cluster: an operations log against the merged anchor (its host's
    entry), any other log as a byte-for-byte prefix of the stream."""
    ops = [p for p in paths if is_ops_log(found.ops_anchor, p)]
    ok, report = verify_merged(found.ops_anchor, ops, keyring, allow_unsigned)
    if not ok:
        return False, report
    for path in paths:
        if path in ops:
            continue
        line = first_difference(path, stream_copy)
        if line is not None:
            return False, [
                *report,
                f"FAIL: {path}:{line}: differs from the stream (edited, or never mirrored)",
            ]
    return True, report
