"""Key lifecycle on a log: rotate to a new key (an entry both keys sign) and re-anchor a log whose
anchor was lost (after verifying it without one). Both leave a signed entry behind."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tradeops.decision_log.keys import SigningKey
from tradeops.decision_log.verify import verify_file
from tradeops.decision_log.writer import OPERATOR_LOCK_WAIT_SECONDS, DecisionLogWriter
from tradeops.domain.errors import TamperDetected


def rotate_log_key(
    path: Path, old: SigningKey, new: SigningKey, *, reason: str, max_line_bytes: int
) -> dict[str, Any]:
    """Append the key_rotation entry (durable) and anchor the log with the new key."""
    with DecisionLogWriter(
        path,
        old,
        fsync_mode="each",
        lock_timeout=OPERATOR_LOCK_WAIT_SECONDS,
        max_line_bytes=max_line_bytes,
    ) as writer:
        return writer.rotate_key(new, stage=path.stem, reason=reason)


def reanchor_log(
    path: Path, key: SigningKey, keyring: Mapping[str, SigningKey], max_line_bytes: int
) -> dict[str, Any]:
    """Verify every entry (no anchor), then record an anchor_reset entry and anchor the head."""
    result = verify_file(path, keyring=keyring, check_anchor=False, max_line_bytes=max_line_bytes)
    if not result.ok:
        raise TamperDetected(
            f"decision log {path}:{result.first_error_line}: {result.reason}; not re-anchored"
        )
    with DecisionLogWriter(
        path,
        key,
        fsync_mode="each",
        lock_timeout=OPERATOR_LOCK_WAIT_SECONDS,
        max_line_bytes=max_line_bytes,
        reanchor=True,
    ) as writer:
        return writer.append(
            kind="anchor_reset",
            stage=path.stem,
            status="reanchored",
            artefacts={"verified_entries": result.entries, "verified_head": result.head},
            tags=("decision_log",),
        )
