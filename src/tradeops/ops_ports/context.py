"""`OpsContext`: what every operator use case receives. Built by `tradeops.bootstrap.ops` (real
adapters) or by `tradeops.ops_ports.fakes.fake_ops_context` (in memory)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tradeops.config.models import AppConfig
from tradeops.ops_ports.ports import (
    AlertManager,
    Clock,
    IncidentRecords,
    KeyProvider,
    OperatorLog,
    OpsStore,
    OverrideBus,
    OverrideStore,
    SecurityAudit,
    VenueAccount,
)


@dataclass
class OpsContext:
    """Config plus the ports of one environment; built once per command or per API process.

    `environ` remains for the few that read a setting from the environment (the API's tokens, the
    Alertmanager URL, the audit read model's key) and `operations_log` says which log the context
    was built for; the ports are the way to reach the outside world."""

    cfg: AppConfig
    config_path: Path
    environment: str
    store: OpsStore
    overrides: OverrideStore
    operator_log: OperatorLog
    keys: KeyProvider
    alert_manager: AlertManager
    security_audit: SecurityAudit
    clock_ms: Clock
    environ: Mapping[str, str]
    operations_log: Path | None = None  # None: cfg.decision_log.operations_log
    override_bus: OverrideBus | None = None  # cluster mode: overrides reach every host
    incidents: IncidentRecords | None = None  # the incident use cases need it (bootstrap sets it)
    venues: VenueAccount | None = None  # a live environment's venues (reconcile, adopt, watchdog)

    @property
    def overrides_dir(self) -> Path:
        return self.overrides.directory

    def close(self) -> None:
        self.store.close()
        if self.override_bus is not None:
            self.override_bus.close()

    def __enter__(self) -> OpsContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
