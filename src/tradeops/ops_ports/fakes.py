"""In-memory fakes of every ops port, and `fake_ops_context` that wires them: tests, drills and the
docs drive the real use cases with these (no files, no database, no network)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tradeops.config.models import AppConfig
from tradeops.config.overrides import COMPONENT_BY_FILE, COMPONENTS, OverrideFile
from tradeops.decision_log.keys import ANY_KEY_ID, SigningKey
from tradeops.domain.clock import ms_to_iso
from tradeops.domain.errors import AlreadyExists, AuditWriteFailed, TradeopsError, UserInputError
from tradeops.domain.trading import OrderAck, OrderRequest, Position, StrategyStatus, TradingState
from tradeops.ops_ports.context import OpsContext
from tradeops.ops_ports.ports import Clock, LogEntries
from tradeops.runtime.overrides import OverrideState
from tradeops.runtime.venue_reconcile import OrderView, ReconcileReport

if TYPE_CHECKING:
    from tradeops.observability.alertmanager import Matcher  # a value type, for the annotation


class FixedClock:
    """A clock that moves only when told to."""

    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> None:
        self.now_ms += ms


class MemoryOperatorLog:
    """Keeps appended entries in a list; `fail` makes the next appends raise like an unwritable log."""

    def __init__(self, path: Path = Path("memory/operations.jsonl"), clock: Clock | None = None) -> None:
        self._path = path
        self._clock = clock
        self.entries: list[dict[str, Any]] = []
        self.fail: str | None = None

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
        if self.fail is not None:
            raise AuditWriteFailed(f"{self._path}: {self.fail}")
        if entry_id is not None:
            for logged in self.entries:
                if logged.get("entry_id") == entry_id:
                    return logged
        entry: dict[str, Any] = {
            "seq": len(self.entries) + 1,
            "kind": kind,
            "stage": stage,
            "status": status,
            "artefacts": dict(artefacts),
            "metadata": dict(metadata or {}),
            "tags": list(tags),
        }
        if entry_id is not None:
            entry["entry_id"] = entry_id
        if self._clock is not None:
            entry["timestamp"] = ms_to_iso(self._clock())
        self.entries.append(entry)
        return entry

    def of_kind(self, kind: str, status: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.entries if e["kind"] == kind and status in (None, e["status"])]


class FixedKeyProvider:
    """Hands out one in-memory key; `key=None` behaves like an environment without a key."""

    def __init__(self, key: SigningKey | None = None, *, missing: bool = False) -> None:
        self.key = None if missing else key or SigningKey("fake", secrets.token_bytes(32))

    def signing_key(self) -> SigningKey:
        if self.key is None:
            raise UserInputError("no decision-log signing key (fake key provider without a key)")
        return self.key

    def verification_keyring(self) -> dict[str, SigningKey]:
        return {} if self.key is None else {ANY_KEY_ID: self.key}


@dataclass(frozen=True, slots=True)
class FakeFindings:
    status: str = "ok"
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


class FakeSecurityAudit:
    """Answers with fixed findings and remembers the scopes it was asked for."""

    def __init__(self, findings: FakeFindings | None = None) -> None:
        self.findings = findings or FakeFindings()
        self.asked: list[tuple[str, ...]] = []

    def run(self, *, required_scheduler_scopes: Sequence[str] = ()) -> FakeFindings:
        self.asked.append(tuple(required_scheduler_scopes))
        return self.findings


class MemoryOpsStore:
    """Strategy statuses, trading states and the kv ledger in dictionaries."""

    def __init__(self) -> None:
        self.statuses: dict[str, StrategyStatus] = {}
        self.states: dict[str, tuple[TradingState, str, int]] = {}
        self.kv: dict[str, str] = {}
        self.positions: list[Position] = []
        self.balances: dict[str, Decimal] = {}
        self.closed = False

    def load_positions(self) -> list[Position]:
        return list(self.positions)

    def load_balances(self) -> dict[str, Decimal]:
        return dict(self.balances)

    def strategy_statuses(self) -> dict[str, StrategyStatus]:
        return dict(self.statuses)

    def set_strategy_status(self, status: StrategyStatus) -> None:
        self.statuses[status.strategy] = status

    def trading_states(self) -> dict[str, TradingState]:
        return {scope: state for scope, (state, _r, _t) in self.states.items()}

    def trading_state_details(self) -> dict[str, tuple[TradingState, str, int]]:
        return dict(self.states)

    def kv_get(self, key: str) -> str | None:
        return self.kv.get(key)

    def kv_swap(self, key: str, expected: str | None, value: str) -> bool:
        if self.kv.get(key) != expected:
            return False
        self.kv[key] = value
        return True

    def close(self) -> None:
        self.closed = True


class MemoryOverrideStore:
    """Override documents by file name, with the expiry and severity rules of the file reader."""

    def __init__(self, directory: Path = Path("memory/overrides")) -> None:
        self._directory = directory
        self.documents: dict[str, OverrideFile] = {}

    @property
    def directory(self) -> Path:
        return self._directory

    def read(self, file_name: str, now_ms: int) -> OverrideState:
        document = self.documents.get(file_name)
        if document is None:
            return OverrideState(False, observed_ms=now_ms)
        component = COMPONENT_BY_FILE.get(file_name, COMPONENTS["multi_strategy"])
        expires = document.expires_ms
        expired = expires is not None and now_ms >= expires
        path = self._directory / file_name
        return OverrideState(
            not expired, component.name, path, expired=expired, override=document, observed_ms=now_ms
        )

    def read_all(self, now_ms: int) -> OverrideState:
        present = tuple(s for c in COMPONENTS.values() if (s := self.read(c.file_name, now_ms)).present)
        if not present:
            return OverrideState(False, observed_ms=now_ms)
        lead = max(present, key=lambda s: 2 if s.active else (1 if s.expired else 0))
        return replace(lead, files=present, observed_ms=now_ms)

    def write(self, document: OverrideFile, *, force: bool = False) -> Path:
        component = next(c for c in COMPONENTS.values() if c.action == document.action)
        if component.file_name in self.documents and not force:
            raise AlreadyExists(f"{self._directory / component.file_name} exists (force to replace)")
        self.documents[component.file_name] = document
        return self._directory / component.file_name

    def remove(self, path: Path) -> bool:
        return self.documents.pop(path.name, None) is not None


@dataclass
class FakeAlertManagerApi:
    """An Alertmanager that keeps silences in a dict."""

    base_url: str
    silences_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    active_alerts: list[dict[str, Any]] = field(default_factory=list)

    def create_silence(
        self,
        matchers: tuple[Matcher, ...],
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
    ) -> str:
        silence_id = f"fake-{len(self.silences_by_id) + 1}"
        self.silences_by_id[silence_id] = {
            "id": silence_id,
            "matchers": [m.to_api() for m in matchers],
            "startsAt": starts_at.isoformat(),
            "endsAt": ends_at.isoformat(),
            "createdBy": created_by,
            "comment": comment,
            "status": {"state": "active"},
        }
        return silence_id

    def get_silence(self, silence_id: str) -> dict[str, Any]:
        if silence_id not in self.silences_by_id:
            raise UserInputError(f"Alertmanager refused GET /api/v2/silence/{silence_id}: HTTP 404")
        return dict(self.silences_by_id[silence_id])

    def expire_silence(self, silence_id: str) -> None:
        self.get_silence(silence_id)
        self.silences_by_id[silence_id]["status"] = {"state": "expired"}

    def silences(self) -> list[dict[str, Any]]:
        return [dict(s) for s in self.silences_by_id.values()]

    def alerts(self, *, include_silenced: bool = True) -> list[dict[str, Any]]:
        return list(self.active_alerts)

    def __enter__(self) -> FakeAlertManagerApi:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


class FakeAlertManager:
    """One fake Alertmanager per URL, kept across connections."""

    def __init__(self) -> None:
        self.servers: dict[str, FakeAlertManagerApi] = {}

    def connect(self, url: str) -> FakeAlertManagerApi:
        return self.servers.setdefault(url, FakeAlertManagerApi(url))


class MemoryIncidentRecords:
    """Replays incidents from a `MemoryOperatorLog`; records land in `written` (id -> (json, md)).
    `runtime` stands for the environment's runtime log; `fail` makes writing the records fail."""

    def __init__(self, log: MemoryOperatorLog, directory: Path = Path("memory/incidents")) -> None:
        self._log, self._directory = log, directory
        self.runtime: list[dict[str, Any]] = []
        self.written: dict[str, tuple[dict[str, object], str]] = {}
        self.fail: str | None = None

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def operations_source(self) -> str:
        return self._log.path.name

    @property
    def runtime_source(self) -> str | None:
        return "runtime.jsonl"

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        yield

    def operations_entries(self) -> LogEntries:
        return list(enumerate(self._log.entries, 1))

    def runtime_entries(self, kinds: AbstractSet[str], names: AbstractSet[str]) -> LogEntries:
        return list(enumerate(self.runtime, 1))

    def record_ids(self, prefix: str) -> set[str]:
        return {name for name in self.written if name.startswith(prefix)}

    def write(self, incident_id: str, payload: Mapping[str, object], markdown: str) -> tuple[Path, Path]:
        if self.fail is not None:
            raise OSError(28, self.fail)
        self.written[incident_id] = (dict(payload), markdown)
        return self._directory / f"{incident_id}.json", self._directory / f"{incident_id}.md"


class MemoryVenueAccount:
    """A live account whose venues are lists: `report` is what reconcile answers, `open_orders`
    what the venues hold; cancels, sends and adoptions are recorded. `reject` makes sends fail."""

    def __init__(self, name: str = "binance_live") -> None:
        self._name = name
        self.report = ReconcileReport()
        self.open_orders: list[OrderView] = []
        self.cancelled: list[tuple[str, str, str]] = []
        self.submitted: list[tuple[str, OrderRequest]] = []
        self.adopted: dict[str, dict[str, str]] = {}
        self.opening_shifts: list[tuple[str, str, Decimal]] = []
        self.reject: str | None = None

    @property
    def name(self) -> str:
        return self._name

    def reconcile(self) -> ReconcileReport:
        return self.report

    def venue_open_orders(self) -> list[OrderView]:
        return list(self.open_orders)

    def cancel_venue_order(self, venue: str, symbol: str, venue_order_id: str) -> bool:
        for order in self.open_orders:
            if (order.venue, order.symbol, order.venue_order_id) == (venue, symbol, venue_order_id):
                self.open_orders.remove(order)
                self.cancelled.append((venue, symbol, venue_order_id))
                return True
        return False

    def cancel_everything(self) -> list[tuple[str, str, str]]:
        held = [(o.venue, o.symbol, o.venue_order_id) for o in self.open_orders if o.venue_order_id]
        return [(v, s, o) for v, s, o in held if self.cancel_venue_order(v, s, o)]

    def submit(self, venue: str, order: OrderRequest) -> OrderAck:
        if self.reject is not None:
            raise TradeopsError(self.reject)
        self.submitted.append((venue, order))
        return OrderAck(f"{venue}-{len(self.submitted)}", (), order.quantity)

    def adopt_order(self, client_order_id: str, details: Mapping[str, str]) -> None:
        self.adopted[client_order_id] = dict(details)

    def shift_opening_balance(self, venue: str, asset: str, delta: Decimal) -> None:
        self.opening_shifts.append((venue, asset, delta))


def fake_ops_context(
    cfg: AppConfig,
    *,
    environment: str = "binance_paper",
    config_path: Path = Path("config/core.yaml"),
    now_ms: int = 1_800_000_000_000,
) -> OpsContext:
    """An OpsContext on in-memory fakes only (see the attributes for what each use case did)."""
    clock = FixedClock(now_ms)
    log = MemoryOperatorLog(clock=clock)
    return OpsContext(
        cfg=cfg,
        config_path=config_path,
        environment=environment,
        store=MemoryOpsStore(),
        overrides=MemoryOverrideStore(),
        operator_log=log,
        keys=FixedKeyProvider(),
        alert_manager=FakeAlertManager(),
        security_audit=FakeSecurityAudit(),
        clock_ms=clock,
        environ={},
        operations_log=log.path,
        incidents=MemoryIncidentRecords(log),
        venues=MemoryVenueAccount(),
    )
