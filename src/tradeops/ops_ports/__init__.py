"""Ports of the operations wing (Protocols), the context that carries them, and in-memory fakes.

It sits below `tradeops.ops` and `tradeops.bootstrap` in the layers: use cases depend on these
Protocols, bootstrap plugs the concrete adapters in."""

from tradeops.ops_ports.context import OpsContext
from tradeops.ops_ports.ports import (
    AlertManager,
    AlertManagerApi,
    AuditFindings,
    Clock,
    IncidentRecords,
    KeyProvider,
    Ledger,
    LogEntries,
    OperatorLog,
    OpsStore,
    OverrideBus,
    OverrideStore,
    SecurityAudit,
    StrategyStatusStore,
    VenueAccount,
)

__all__ = [
    "AlertManager",
    "AlertManagerApi",
    "AuditFindings",
    "Clock",
    "IncidentRecords",
    "KeyProvider",
    "Ledger",
    "LogEntries",
    "OperatorLog",
    "OpsContext",
    "OpsStore",
    "OverrideBus",
    "OverrideStore",
    "SecurityAudit",
    "StrategyStatusStore",
    "VenueAccount",
]
