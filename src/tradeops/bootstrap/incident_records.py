"""The incident records as an adapter (`FileIncidentRecords`, the `IncidentRecords` port): the
operations log and the environment's runtime log they are replayed from, and the directory of
`<id>.json`/`<id>.md` records; plus `incident_context`, the context the incident doors run on."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator, Mapping, Set
from decimal import Decimal
from pathlib import Path

import orjson

from tradeops.config.load import environment_of
from tradeops.config.models import AppConfig
from tradeops.decision_log.reader import iter_entries
from tradeops.domain.errors import TamperDetected
from tradeops.domain.trading import Position, StrategyStatus, TradingState
from tradeops.fsutil import atomic_write_json, atomic_write_text
from tradeops.ops_ports import LogEntries, OpsContext, OpsStore


class FileIncidentRecords:
    """Incidents kept in the decision-log files and records under `directory`."""

    def __init__(self, directory: Path, operations_log: Path, runtime_log: Path | None) -> None:
        self._directory, self._operations_log = directory, operations_log
        same = runtime_log is not None and runtime_log.resolve() == operations_log.resolve()
        self._runtime_log = None if same else runtime_log

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def operations_source(self) -> str:
        return str(self._operations_log)

    @property
    def runtime_source(self) -> str | None:
        return None if self._runtime_log is None else str(self._runtime_log)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self._directory.mkdir(parents=True, exist_ok=True)
        with (self._directory / ".lock").open("a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def operations_entries(self) -> LogEntries:
        path = self._operations_log
        return list(iter_entries(path)) if path.is_file() else []

    def runtime_entries(self, kinds: Set[str], names: Set[str]) -> LogEntries:
        """Lines are canonical JSON, so a byte search skips signals, fills and the like unparsed."""
        path = self._runtime_log
        if path is None or not path.is_file():
            return []
        needles = [b'"kind":' + orjson.dumps(k) for k in sorted(kinds)] + [orjson.dumps(n) for n in names]
        found: LogEntries = []
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, 1):
                if not raw.endswith(b"\n"):
                    break  # a torn last line is not an entry yet
                if not any(needle in raw for needle in needles):
                    continue
                try:
                    entry = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    raise TamperDetected(f"{path}:{number}: not valid JSON") from None
                if isinstance(entry, dict):
                    found.append((number, entry))
        return found

    def record_ids(self, prefix: str) -> set[str]:
        if not self._directory.is_dir():
            return set()
        return {p.stem for p in self._directory.glob(f"{prefix}*.json")}

    def write(self, incident_id: str, payload: Mapping[str, object], markdown: str) -> tuple[Path, Path]:
        json_path = atomic_write_json(self._directory / f"{incident_id}.json", dict(payload))
        md_path = atomic_write_text(self._directory / f"{incident_id}.md", markdown)
        return json_path, md_path


def file_incident_records(
    cfg: AppConfig, environment: str | None, operations_log: Path | None = None
) -> FileIncidentRecords:
    """The records of `cfg`; `environment` None leaves the runtime log out of the timelines."""
    runtime = Path(cfg.decision_log_path(environment)) if environment else None
    log = Path(operations_log or cfg.decision_log.operations_log)
    return FileIncidentRecords(Path(cfg.incidents.directory), log, runtime)


class LazyOpsStore:
    """Opens the state store on first use: the incident doors mostly never touch it."""

    def __init__(self, opener: Callable[[], OpsStore]) -> None:
        self._opener = opener
        self._store: OpsStore | None = None

    def _open(self) -> OpsStore:
        if self._store is None:
            self._store = self._opener()
        return self._store

    def load_positions(self) -> list[Position]:
        return self._open().load_positions()

    def load_balances(self) -> dict[str, Decimal]:
        return self._open().load_balances()

    def strategy_statuses(self) -> dict[str, StrategyStatus]:
        return self._open().strategy_statuses()

    def set_strategy_status(self, status: StrategyStatus) -> None:
        self._open().set_strategy_status(status)

    def trading_states(self) -> dict[str, TradingState]:
        return self._open().trading_states()

    def trading_state_details(self) -> dict[str, tuple[TradingState, str, int]]:
        return self._open().trading_state_details()

    def kv_get(self, key: str) -> str | None:
        return self._open().kv_get(key)

    def kv_swap(self, key: str, expected: str | None, value: str) -> bool:
        return self._open().kv_swap(key, expected, value)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def incident_context(
    cfg: AppConfig,
    config_path: Path,
    environment: str | None,
    *,
    operations_log: Path | None = None,
    environ: Mapping[str, str] = os.environ,
    clock_ms: Callable[[], int] | None = None,
) -> OpsContext:
    """An OpsContext for the incident use cases: no state store opened, no cluster bus connected
    (nothing on disk changes but the operations log and the records). `environment` None: the
    runtime log stays out of the timelines."""
    from tradeops.bootstrap.ops import assemble_ops_context, wall_clock_ms
    from tradeops.persistence.sql_store import open_state_store

    name = environment or next(iter(cfg.environments), "")
    env = cfg.environments.get(name)

    def opener() -> OpsStore:
        return open_state_store(env or environment_of(cfg, name, config_path))

    ctx = assemble_ops_context(
        cfg, config_path, name, LazyOpsStore(opener), Path(cfg.runtime.overrides_dir),
        clock_ms=clock_ms or wall_clock_ms, environ=environ, operations_log=operations_log,
    )  # fmt: skip
    ctx.incidents = file_incident_records(cfg, environment, operations_log)
    return ctx
