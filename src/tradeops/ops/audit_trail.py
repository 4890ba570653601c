"""Record one operator action (kill switch, silence, incident, rollback step) in the operations log.

Every operations tool calls `record_operator_action`; it appends exactly one signed, chained entry
and returns only after the entry is on disk.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tradeops.config.models import AppConfig
from tradeops.decision_log.keys import resolve_signing_key
from tradeops.decision_log.writer import OPERATOR_LOCK_WAIT_SECONDS, DecisionLogWriter


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
) -> dict[str, Any]:
    """Append one signed entry to `log_path` (default: decision_log.operations_log) and fsync it.

    The key comes from TRADEOPS_DECISION_LOG_KEY_FILE / TRADEOPS_DECISION_LOG_KEY (id from
    TRADEOPS_DECISION_LOG_KEY_ID, default decision_log.key_id); no key raises UserInputError.
    """
    settings = cfg.decision_log
    key = resolve_signing_key(
        key=None,
        key_file=None,
        key_id=None,
        algorithm=settings.hash_algorithm,
        environ=environ,
        default_key_id=settings.key_id,
    )
    path = Path(log_path or settings.operations_log)
    with DecisionLogWriter(path, key, fsync_mode="each", lock_timeout=OPERATOR_LOCK_WAIT_SECONDS) as writer:
        return writer.append(
            kind=kind, stage=stage, status=status, artefacts=artefacts, metadata=metadata, tags=tags
        )
