"""The operations decision log as an adapter: `FileOperatorLog` (the `OperatorLog` port) and
`ConfigKeyProvider` (the `KeyProvider` port); `open_operator_log` builds the pair for a config.

Every entry is signed, chained and fsynced before the call returns. With an `entry_id` an append is
idempotent: when the log's recent entries already hold that id (an earlier attempt, or another
process logging the same event) nothing is appended and the entry already there is returned.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tradeops.config.models import AppConfig
from tradeops.decision_log.keys import ANY_KEY_ID, SigningKey, resolve_signing_key
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


class ConfigKeyProvider:
    """The operator key from the environment variables, else decision_log.key_file, read when it
    signs: a key changed in `environ` (the process environment in production) or in the key file
    signs the next entry; nothing is cached."""

    def __init__(self, cfg: AppConfig, environ: Mapping[str, str], log_path: Path) -> None:
        self._cfg, self._environ, self._log_path = cfg, environ, log_path

    def signing_key(self) -> SigningKey:
        return operator_key(self._cfg, self._environ, self._log_path)

    def verification_keyring(self) -> dict[str, SigningKey]:
        settings = self._cfg.decision_log
        key = resolve_signing_key(
            key=None,
            key_file=None,
            key_id=None,
            algorithm=settings.hash_algorithm,
            allow_unsigned=True,
            environ=self._environ,
            default_key_id=settings.key_id,
            default_key_file=settings.key_file,
        )
        return {ANY_KEY_ID: key} if key is not None else {}


def _already_logged(path: Path, entry_id: str) -> dict[str, Any] | None:
    if not path.is_file() or path.stat().st_size == 0:
        return None
    for entry in reversed(tail(path, IDEMPOTENCY_WINDOW)):
        if entry.get("entry_id") == entry_id:
            return dict(entry)
    return None


class FileOperatorLog:
    """Appends to one JSONL decision log (opened, locked and closed per entry: several operator
    processes share the file)."""

    def __init__(self, path: Path, keys: ConfigKeyProvider, max_line_bytes: int) -> None:
        self._path, self._keys, self._max_line_bytes = path, keys, max_line_bytes

    @property
    def path(self) -> Path:
        return self._path

    def append(
        self,
        *,
        kind: str,
        status: str,
        artefacts: Mapping[str, object],
        metadata: Mapping[str, object] | None = None,
        tags: Sequence[str] = (),
        stage: str = "stage4",
        entry_id: str | None = None,
    ) -> dict[str, Any]:
        key = self._keys.signing_key()
        with DecisionLogWriter(
            self._path,
            key,
            fsync_mode="each",
            lock_timeout=OPERATOR_LOCK_WAIT_SECONDS,
            max_line_bytes=self._max_line_bytes,
        ) as writer:
            if entry_id is not None and (found := _already_logged(self._path, entry_id)) is not None:
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


def open_operator_log(
    cfg: AppConfig, environ: Mapping[str, str] = os.environ, log_path: str | Path | None = None
) -> FileOperatorLog:
    path = Path(log_path or cfg.decision_log.operations_log)
    return FileOperatorLog(path, ConfigKeyProvider(cfg, environ, path), cfg.decision_log.max_line_bytes)
