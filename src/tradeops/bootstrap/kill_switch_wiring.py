"""The kill switch as the engine's order gate: the override watcher (host adapter) and the operator
state it reads, built for one run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tradeops.config.models import AppConfig, EnvironmentConfig
from tradeops.runtime.clock import WallClock
from tradeops.runtime.ports import OrderGate, StateStore


def open_gate(
    cfg: AppConfig, env: EnvironmentConfig, store: StateStore | None, closers: list[Any]
) -> OrderGate | None:
    """The kill switch reads operator state from the run's own store (an account's is the one the CLI
    and the control API write); an in-memory run (smoke, load test) reads the environment's."""
    from tradeops.host.override_archive import OverrideArchive
    from tradeops.host.override_watcher import OverrideWatcher
    from tradeops.persistence.sql_store import open_state_store
    from tradeops.runtime.kill_switch import KillSwitch

    if store is None:
        store = open_state_store(env)
        closers.append(store.close)

    watcher = OverrideWatcher(
        Path(cfg.runtime.overrides_dir),
        clock_ms=WallClock().now_ms,
        poll_interval_ms=cfg.runtime.kill_switch.poll_interval_ms,
        on_change=OverrideArchive(cfg.runtime.overrides_dir, WallClock().now_ms),
    )
    watcher.start()
    closers.append(watcher.stop)
    return KillSwitch(watcher, store, WallClock().now_ms, resume_pending=resume_pending(store))


def resume_pending(store: StateStore) -> Any:
    """Trading stays halted while an override event that resumes it is not recorded yet."""
    from tradeops.config.overrides import COMPONENTS
    from tradeops.runtime.override_ledger import ledger_halts, ledger_key

    kv_get = getattr(store, "kv_get", None)
    if kv_get is None:
        return None
    return lambda: any(ledger_halts(kv_get(ledger_key(name))) for name in COMPONENTS)
