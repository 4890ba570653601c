"""The ports of the operations wing: what an operator use case may reach outside itself.

Each port is a Protocol; `tradeops.bootstrap.ops` builds the concrete adapters (decision-log file,
SQL state store, Alertmanager over HTTP, override files) and `tradeops.ops_ports.fakes` holds an
in-memory fake of each one for tests, drills and docs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from tradeops.domain.trading import Position, StrategyStatus
from tradeops.observability.silences import SilenceApi

if TYPE_CHECKING:
    from tradeops.config.overrides import OverrideFile
    from tradeops.decision_log.keys import SigningKey
    from tradeops.domain.trading import OrderAck, OrderRequest, TradingState
    from tradeops.runtime.overrides import OverrideState
    from tradeops.runtime.venue_reconcile import OrderView, ReconcileReport

Clock = Callable[[], int]
"""Milliseconds since the epoch; wall time in production, a fixed or stepped value in tests."""


class OperatorLog(Protocol):
    """The operations decision log: one signed, chained, fsynced entry per operator action."""

    @property
    def path(self) -> Path: ...

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
        """Append one entry and return it once it is on disk. With `entry_id`, an entry already
        logged under that id is returned instead (idempotent)."""
        ...


class KeyProvider(Protocol):
    """The key operator entries are signed with, and the keys logs are verified with."""

    def signing_key(self) -> SigningKey:
        """The key as its source holds it now (asked for at every append: a long-lived context
        signs with a key changed meanwhile, without being rebuilt), or UserInputError naming the
        log and the key id it expects."""
        ...

    def verification_keyring(self) -> dict[str, SigningKey]:
        """Key id (or the any-key wildcard) -> key for verifying this environment's logs; empty
        when no key is configured (then only the chain is checked)."""
        ...


class AuditFindings(Protocol):
    """The outcome of a security audit."""

    @property
    def status(self) -> str:
        """ok | warning | error"""
        ...

    @property
    def errors(self) -> Sequence[str]: ...

    @property
    def warnings(self) -> Sequence[str]: ...


class SecurityAudit(Protocol):
    """Audits the config and the environment (TLS material, tokens, signing key, limits)."""

    def run(self, *, required_scheduler_scopes: Sequence[str] = ()) -> AuditFindings: ...


class StrategyStatusStore(Protocol):
    """Persisted per-strategy operator state and the trading states the runtime projects."""

    def strategy_statuses(self) -> dict[str, StrategyStatus]: ...

    def set_strategy_status(self, status: StrategyStatus) -> None: ...

    def trading_states(self) -> dict[str, TradingState]: ...

    def trading_state_details(self) -> dict[str, tuple[TradingState, str, int]]:
        """scope -> (state, reason, changed_ms)."""
        ...

    def close(self) -> None: ...


class Ledger(Protocol):
    """A small key-value table shared by every process of an environment (override-event ledger,
    scheduler heartbeat)."""

    def kv_get(self, key: str) -> str | None: ...

    def kv_swap(self, key: str, expected: str | None, value: str) -> bool:
        """Set `key` to `value` only if it holds `expected` (None: absent); atomic across processes."""
        ...


class Holdings(Protocol):
    """The projected positions and balances (read-only), for the read API."""

    def load_positions(self) -> list[Position]: ...

    def load_balances(self) -> dict[str, Decimal]: ...


class OpsStore(StrategyStatusStore, Ledger, Holdings, Protocol):
    """The environment's state store as the operations wing sees it."""


class OverrideStore(Protocol):
    """The kill-switch override files of one environment."""

    @property
    def directory(self) -> Path: ...

    def read_all(self, now_ms: int) -> OverrideState:
        """The leading override (with every file under `.files`)."""
        ...

    def read(self, file_name: str, now_ms: int) -> OverrideState: ...

    def write(self, document: OverrideFile, *, force: bool = False) -> Path: ...

    def remove(self, path: Path) -> bool:
        """Remove one override file durably; False when it was not there."""
        ...


class OverrideBus(Protocol):
    """Cluster mode: an override document (named like its file) put for every host, or removed."""

    def publish(self, file_name: str, data: bytes | None) -> None: ...

    def publish_strategy(self, strategy: str, disabled: bool, until_ms: int | None) -> None: ...

    def close(self) -> None: ...


class AlertManagerApi(SilenceApi, Protocol):
    """One open connection to an Alertmanager (API v2)."""

    def silences(self) -> list[dict[str, Any]]: ...

    def alerts(self, *, include_silenced: bool = True) -> list[dict[str, Any]]: ...

    def __enter__(self) -> AlertManagerApi: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class AlertManager(Protocol):
    """Opens connections to an Alertmanager by URL."""

    def connect(self, url: str) -> AlertManagerApi: ...


LogEntries = list[tuple[int, dict[str, Any]]]
"""(line number, entry) pairs of one decision log, oldest first."""


class IncidentRecords(Protocol):
    """Where incidents live outside the process: replayed from the operations log (and, for the
    timeline, the environment's runtime log), their `<id>.json`/`<id>.md` records in one directory."""

    @property
    def directory(self) -> Path: ...

    @property
    def operations_source(self) -> str:
        """The operations log as a timeline names it (`<file name>`) and a message names it."""
        ...

    @property
    def runtime_source(self) -> str | None:
        """The environment's runtime log name; None when it is the operations log itself."""
        ...

    def lock(self) -> AbstractContextManager[None]:
        """One writer at a time decides ids and open/closed state (CLI and scheduler may race)."""
        ...

    def operations_entries(self) -> LogEntries: ...

    def runtime_entries(self, kinds: AbstractSet[str], names: AbstractSet[str]) -> LogEntries:
        """The runtime log's entries that may belong in a timeline (of one of `kinds`, or naming
        one of `names`; more is fine, the use case filters); a torn last line is left out."""
        ...

    def record_ids(self, prefix: str) -> set[str]:
        """Ids of the records already in the directory that start with `prefix`."""
        ...

    def write(self, incident_id: str, payload: Mapping[str, object], markdown: str) -> tuple[Path, Path]:
        """Write `<id>.json` and `<id>.md` atomically; OSError when the directory is unwritable."""
        ...


class VenueAccount(Protocol):
    """A live environment's books beside its venues, over a connection of its own (outside the
    scheduler): what `tradeops reconcile`, `tradeops adopt` and `tradeops watchdog` act on."""

    @property
    def name(self) -> str:
        """The environment."""
        ...

    def reconcile(self) -> ReconcileReport:
        """The books against the venues now (nothing booked, nothing adopted)."""
        ...

    def venue_open_orders(self) -> list[OrderView]:
        """Open orders at the venues, ours or not, on the symbols the account trades."""
        ...

    def cancel_venue_order(self, venue: str, symbol: str, venue_order_id: str) -> bool:
        """Cancel one order at its venue; False when the venue had already closed it."""
        ...

    def cancel_everything(self) -> list[tuple[str, str, str]]:
        """Cancel every open order at every venue on the account's symbols: (venue, symbol,
        venue order id) of each one cancelled."""
        ...

    def submit(self, venue: str, order: OrderRequest) -> OrderAck:
        """Send one order straight to a venue (the watchdog's flattening sell)."""
        ...

    def adopt_order(self, client_order_id: str, details: Mapping[str, str]) -> None:
        """Take an unknown venue order into the books as adopted (reconcile stops reporting it)."""
        ...

    def shift_opening_balance(self, venue: str, asset: str, delta: Decimal) -> None:
        """Move the books' opening balance of (venue, asset) by `delta`."""
        ...
