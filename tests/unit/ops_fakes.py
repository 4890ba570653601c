"""The in-memory adapters of a `fake_ops_context`, typed (the context's fields are ports)."""

from __future__ import annotations

from tradeops.ops_ports import OpsContext
from tradeops.ops_ports.fakes import (
    MemoryIncidentRecords,
    MemoryOperatorLog,
    MemoryOpsStore,
    MemoryVenueAccount,
)


def log_of(ctx: OpsContext) -> MemoryOperatorLog:
    assert isinstance(ctx.operator_log, MemoryOperatorLog)
    return ctx.operator_log


def records_of(ctx: OpsContext) -> MemoryIncidentRecords:
    assert isinstance(ctx.incidents, MemoryIncidentRecords)
    return ctx.incidents


def venues_of(ctx: OpsContext) -> MemoryVenueAccount:
    assert isinstance(ctx.venues, MemoryVenueAccount)
    return ctx.venues


def store_of(ctx: OpsContext) -> MemoryOpsStore:
    assert isinstance(ctx.store, MemoryOpsStore)
    return ctx.store
