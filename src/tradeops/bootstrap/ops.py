"""Composition root of the operations use cases (CLI, control API): config + state store + paths."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tradeops.config.load import load_config
from tradeops.config.models import AppConfig
from tradeops.domain.errors import UserInputError
from tradeops.runtime.ports import StateStore


class OverrideBus(Protocol):
    """Cluster mode: an override document (named like its file) put for every host, or removed."""

    def publish(self, file_name: str, data: bytes | None) -> None: ...

    def publish_strategy(self, strategy: str, disabled: bool, until_ms: int | None) -> None: ...

    def close(self) -> None: ...


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class OpsContext:
    """Everything an operations use case needs; built once per command or per API process."""

    cfg: AppConfig
    config_path: Path
    environment: str
    store: StateStore
    overrides_dir: Path
    clock_ms: Callable[[], int] = wall_clock_ms
    operations_log: Path | None = None  # None: cfg.decision_log.operations_log
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    override_bus: OverrideBus | None = None  # cluster mode: overrides reach every host

    def close(self) -> None:
        self.store.close()
        if self.override_bus is not None:
            self.override_bus.close()

    def __enter__(self) -> OpsContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_ops_context(
    config_path: str | Path = "config/core.yaml", environment: str = "binance_paper"
) -> OpsContext:
    """Load the config, check the environment, open its state store."""
    from tradeops.persistence.sql_store import open_state_store

    path = Path(config_path)
    cfg = load_config(path)
    if environment not in cfg.environments:
        known = ", ".join(cfg.environments)
        raise UserInputError(f"--environment {environment}: not in {path}; known: {known}")
    env = cfg.environments[environment]
    if env.mode == "paper":
        # Paper setups sign with decision_log.key_file, created only for logs without entries.
        from tradeops.bootstrap.decision_log_wiring import paper_signing_key

        paper_signing_key(cfg, environment)
    store = open_state_store(env)
    bus = None
    if cfg.cluster is not None:
        from tradeops.bootstrap.cluster import open_override_bus

        bus = open_override_bus(cfg, environment)
    return OpsContext(cfg, path, environment, store, Path(cfg.runtime.overrides_dir), override_bus=bus)
