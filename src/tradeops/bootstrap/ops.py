"""Composition root of the operations use cases (CLI, control API, rollback): the concrete adapters
behind the `tradeops.ops_ports` Protocols, built here and nowhere else."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tradeops.bootstrap.incident_records import file_incident_records
from tradeops.bootstrap.operator_log import ConfigKeyProvider, FileOperatorLog
from tradeops.bootstrap.override_files import remove_override_file, write_override
from tradeops.config.load import environment_of, load_config
from tradeops.config.models import AppConfig
from tradeops.config.overrides import OverrideFile
from tradeops.host.override_files import read_override, read_overrides
from tradeops.observability.alertmanager import AlertmanagerClient
from tradeops.ops_ports import OpsContext, OpsStore, OverrideBus
from tradeops.runtime.overrides import OverrideState

if TYPE_CHECKING:
    from tradeops.security.audit import AuditReport

__all__ = [
    "ConfigSecurityAudit",
    "FileOverrideStore",
    "HttpAlertManager",
    "OpsContext",
    "assemble_ops_context",
    "build_ops_context",
    "open_alertmanager",
    "wall_clock_ms",
]


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class FileOverrideStore:
    """The override files in one directory (written atomically, read fail-safe)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    @property
    def directory(self) -> Path:
        return self._directory

    def read_all(self, now_ms: int) -> OverrideState:
        return read_overrides(self._directory, now_ms)

    def read(self, file_name: str, now_ms: int) -> OverrideState:
        return read_override(self._directory / file_name, now_ms)

    def write(self, document: OverrideFile, *, force: bool = False) -> Path:
        return write_override(self._directory, document, force=force)

    def remove(self, path: Path) -> bool:
        return remove_override_file(path)


class ConfigSecurityAudit:
    """`tradeops security audit` over this config and the process environment."""

    def __init__(self, cfg: AppConfig, config_path: Path) -> None:
        self._cfg, self._config_path = cfg, config_path

    def run(self, *, required_scheduler_scopes: Sequence[str] = ()) -> AuditReport:
        from tradeops.security.audit import run_security_audit

        return run_security_audit(
            self._cfg, config_path=self._config_path, required_scheduler_scopes=required_scheduler_scopes
        )


def open_alertmanager(url: str) -> AlertmanagerClient:
    """A client for the Alertmanager at `url` (UserInputError for a URL that is not http(s))."""
    return AlertmanagerClient(url)


class HttpAlertManager:
    """Alertmanager API v2 over HTTP."""

    def connect(self, url: str) -> AlertmanagerClient:
        return open_alertmanager(url)


def assemble_ops_context(
    cfg: AppConfig,
    config_path: Path,
    environment: str,
    store: OpsStore,
    overrides_dir: Path,
    *,
    clock_ms: Callable[[], int] = wall_clock_ms,
    environ: Mapping[str, str] = os.environ,
    operations_log: Path | None = None,
    override_bus: OverrideBus | None = None,
) -> OpsContext:
    """The real adapters around an open `store`: the operations log file, the override files, the
    signing key from env or key file, Alertmanager over HTTP."""
    log_path = Path(operations_log or cfg.decision_log.operations_log)
    keys = ConfigKeyProvider(cfg, environ, log_path)
    return OpsContext(
        cfg=cfg,
        config_path=config_path,
        environment=environment,
        store=store,
        overrides=FileOverrideStore(overrides_dir),
        operator_log=FileOperatorLog(log_path, keys, cfg.decision_log.max_line_bytes),
        keys=keys,
        alert_manager=HttpAlertManager(),
        security_audit=ConfigSecurityAudit(cfg, config_path),
        clock_ms=clock_ms,
        environ=environ,
        operations_log=operations_log,
        override_bus=override_bus,
        incidents=file_incident_records(cfg, environment, operations_log),
    )


def build_ops_context(
    config_path: str | Path = "config/core.yaml",
    environment: str = "binance_paper",
    *,
    overrides_dir: Path | None = None,
    operations_log: Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> OpsContext:
    """Load the config, check the environment, open its state store, plug in the real adapters."""
    from tradeops.persistence.sql_store import open_state_store

    path = Path(config_path)
    cfg = load_config(path)
    env = environment_of(cfg, environment, path)
    if env.mode == "paper":
        # Paper setups sign with decision_log.key_file, created only for logs without entries.
        from tradeops.bootstrap.decision_log_wiring import paper_signing_key

        paper_signing_key(cfg, environment)
    store = open_state_store(env)
    bus = None
    if cfg.cluster is not None:
        from tradeops.bootstrap.cluster import open_override_bus

        bus = open_override_bus(cfg, environment)
    directory = overrides_dir if overrides_dir is not None else Path(cfg.runtime.overrides_dir)
    return assemble_ops_context(
        cfg,
        path,
        environment,
        store,
        directory,
        environ=environ,
        operations_log=operations_log,
        override_bus=bus,
    )
