"""Record one operator action (kill switch, silence, incident, rollback step) in the operations log.

Every operations tool calls `record_operator_action`; it appends exactly one signed, chained entry
and returns only after the entry is on disk. With an `entry_id` the call is idempotent: when the
log's recent entries already hold that id (an earlier attempt, or another process logging the
same event) nothing is appended and the entry already there is returned.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tradeops.config.models import AppConfig
from tradeops.decision_log.keys import SigningKey, resolve_signing_key
from tradeops.decision_log.reader import tail
from tradeops.decision_log.writer import OPERATOR_LOCK_WAIT_SECONDS, DecisionLogWriter

# How far back an entry id is looked for: retries of one event happen within a few entries.
IDEMPOTENCY_WINDOW = 200


def operator_key(
    cfg: AppConfig, environ: Mapping[str, str], log_path: str | Path | None = None
) -> SigningKey:
    """The key operator entries are signed with: env, else decision_log.key_file (one key id for the
    runtime and the operators of an environment: decision_log.key_id unless the env names one)."""
    settings = cfg.decision_log
    key = resolve_signing_key(
        key=None,
        key_file=None,
        key_id=None,
        algorithm=settings.hash_algorithm,
        environ=environ,
        default_key_id=settings.key_id,
        default_key_file=settings.key_file,
        log_path=log_path or settings.operations_log,
    )
    assert key is not None  # allow_unsigned is off: resolve raises instead
    return key


def _already_logged(path: Path, entry_id: str) -> dict[str, Any] | None:
    if not path.is_file() or path.stat().st_size == 0:
        return None
    for entry in reversed(tail(path, IDEMPOTENCY_WINDOW)):
        if entry.get("entry_id") == entry_id:
            return dict(entry)
    return None


def record_operator_action(
    cfg: AppConfig,
    *,
    kind: str,
    status: str,
    artefacts: Mapping[str, object],
    metadata: Mapping[str, object] | None = None,
    tags: Sequence[str] = (),
    stage: str = "stage4",
    log_path: str | Path | None = None,
    environ: Mapping[str, str] = os.environ,
    entry_id: str | None = None,
) -> dict[str, Any]:
    """Append one signed entry to `log_path` (default: decision_log.operations_log) and fsync it.

    The key comes from TRADEOPS_DECISION_LOG_KEY_FILE / TRADEOPS_DECISION_LOG_KEY, else from
    decision_log.key_file (id TRADEOPS_DECISION_LOG_KEY_ID, default decision_log.key_id); no key
    raises UserInputError naming the log and the key id it expects.
    """
    settings = cfg.decision_log
    path = Path(log_path or settings.operations_log)
    key = operator_key(cfg, environ, path)
    with DecisionLogWriter(
        path,
        key,
        fsync_mode="each",
        lock_timeout=OPERATOR_LOCK_WAIT_SECONDS,
        max_line_bytes=settings.max_line_bytes,
    ) as writer:
        if entry_id is not None and (found := _already_logged(path, entry_id)) is not None:
            return found
        return writer.append(
            kind=kind,
            stage=stage,
            status=status,
            artefacts=artefacts,
            metadata=metadata,
            tags=tags,
            extra={"entry_id": entry_id} if entry_id is not None else None,
        )
