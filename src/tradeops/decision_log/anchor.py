"""The signed anchor beside a log: `<log>.anchor` holds the log id and the durable head (seq, hash).

The writer replaces it atomically after entries become durable (at most once per
`anchor_interval_s`, and when it closes), so it may lag the log by the last interval but is never
ahead of it. Verify compares the log with it by default: a truncated log, an older copy put back,
or another log in its place no longer matches its anchor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradeops.decision_log.check import entry_mac_ok, parse_line, signature_shape_problem
from tradeops.decision_log.entry import FORMAT_VERSION, parse_hash, sign_document
from tradeops.decision_log.keys import ANY_KEY_ID, SigningKey
from tradeops.fsutil import atomic_write_bytes

ANCHOR_KIND = "log_anchor"
_MAX_ANCHOR_BYTES = 4096


def anchor_path(log: Path) -> Path:
    return log.with_name(log.name + ".anchor")


@dataclass(frozen=True, slots=True)
class Anchor:
    log_id: str
    seq: int
    head: str
    updated: str
    key_id: str | None  # None: unsigned (a log written with --allow-unsigned)

    def one_line(self, log: Path) -> str:
        """What `tradeops decision-log anchor` prints, for pasting into a ticket."""
        return f"{log} log_id={self.log_id} seq={self.seq} head={self.head} updated={self.updated}"


def write_anchor(log: Path, anchor: Anchor, key: SigningKey | None, *, sync_dir: bool = True) -> None:
    """Replace the anchor (temp file, fsync, rename). `sync_dir=False` (the writer's periodic
    anchors) leaves the rename to the next journal commit, which the log's next fdatasync makes:
    one fsync fewer competing with the log's, and a crash before it keeps the previous anchor,
    which may lag the log but is never ahead of it."""
    document = {
        "format": FORMAT_VERSION,
        "head": anchor.head,
        "kind": ANCHOR_KIND,
        "log_id": anchor.log_id,
        "seq": anchor.seq,
        "updated": anchor.updated,
    }
    _, line = sign_document(document, key)
    atomic_write_bytes(anchor_path(log), line + b"\n", mode=0o640, sync_dir=sync_dir)


def _fields_problem(document: Any) -> str | None:
    if not isinstance(document, dict) or document.get("kind") != ANCHOR_KIND:
        return "not a log anchor"
    if document.get("format") != FORMAT_VERSION:
        return f"anchor format {document.get('format')!r}, expected {FORMAT_VERSION}"
    expected = {"format", "head", "kind", "log_id", "seq", "updated", "signature"}
    if not set(document) <= expected:
        return f"unexpected anchor fields {sorted(set(document) - expected)}"
    seq, head = document.get("seq"), document.get("head")
    if type(seq) is not int or seq < 1 or not isinstance(head, str) or parse_hash(head) is None:
        return "anchor seq/head malformed"
    if not isinstance(document.get("log_id"), str) or not isinstance(document.get("updated"), str):
        return "anchor log_id/updated malformed"
    return None


def read_anchor(
    log: Path, keyring: Mapping[str, SigningKey], *, allow_unsigned: bool = False
) -> tuple[Anchor | None, str | None]:
    """(anchor, None), or (None, why it cannot be trusted); (None, None) when there is no anchor."""
    path = anchor_path(log)
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_ANCHOR_BYTES + 1)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"anchor {path}: cannot read ({exc.strerror})"
    if len(raw) > _MAX_ANCHOR_BYTES or not raw.endswith(b"\n"):
        return None, f"anchor {path}: truncated or oversized"
    document, problem = parse_line(raw[:-1])
    problem = problem or _fields_problem(document)
    if problem is not None:
        return None, f"anchor {path}: {problem}"
    signature = document.get("signature")
    key_id: str | None = None
    if signature is None:
        if not allow_unsigned:
            return None, f"anchor {path} is unsigned (pass --allow-unsigned to accept)"
    else:
        shape = signature_shape_problem(signature)
        if shape is not None:
            return None, f"anchor {path}: {shape}"
        key_id = signature["key_id"]
        key = keyring.get(key_id, keyring.get(ANY_KEY_ID))
        if key is None:
            return None, f"anchor {path} is signed with key id {key_id!r}, which is not in the keyring"
        if not entry_mac_ok(document, key):
            return None, f"anchor {path}: signature mismatch (edited, or signed with another key)"
    anchor = Anchor(document["log_id"], document["seq"], document["head"], document["updated"], key_id)
    return anchor, None
