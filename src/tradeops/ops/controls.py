"""Operator use cases: kill switch and per-strategy disable. The CLI and the control API call these
functions (and only these) to change or read operator state.

Every state change appends exactly one signed decision-log entry. Override events that happen
outside these functions (an `rm` of the file, an expiry, a malformed file) are logged once by
`reconcile_override_events`, which the running scheduler calls when its watcher sees a change; a
ledger in the state store's kv table makes "once" hold across processes.
"""

from __future__ import annotations

from typing import Any

from tradeops.config.models import MANUAL_BUCKET
from tradeops.config.overrides import format_timestamp
from tradeops.domain.errors import AlreadyExists, UserInputError
from tradeops.domain.trading import StrategyStatus
from tradeops.ops.control_common import (
    MAX_REASON_CHARS,
    MAX_TICKET_CHARS,
    Actor,
    OverrideInfo,
    _record,
    _require_signing_key,
    change_reason,
    check_strategy,
)
from tradeops.ops.control_views import (
    SchedulerStatus,
    iso_or_none,
    list_schedules,
    profile_of,
    scheduler_status,
)
from tradeops.ops.override_controls import (
    LEDGER_PREFIX,
    create_override,
    reconcile_override_events,
    remove_override,
)
from tradeops.ops_ports import OpsContext
from tradeops.runtime.kill_switch import status_active

__all__ = [
    "LEDGER_PREFIX",
    "MAX_REASON_CHARS",
    "MAX_TICKET_CHARS",
    "Actor",
    "OpsContext",
    "OverrideInfo",
    "SchedulerStatus",
    "change_reason",
    "create_override",
    "disable_strategy",
    "enable_strategy",
    "list_schedules",
    "reconcile_override_events",
    "remove_override",
    "scheduler_status",
]


def _store_then_record(ctx: OpsContext, saved: StrategyStatus, undo: StrategyStatus, /, **entry: Any) -> None:
    """Persist `saved`, then log it; if the log entry cannot be written, put `undo` back
    (a state change without its signed record must not survive)."""
    ctx.store.set_strategy_status(saved)
    try:
        _record(ctx, **entry)
    except BaseException:
        ctx.store.set_strategy_status(undo)
        raise
    if ctx.override_bus is not None:  # cluster mode: pushed to every host at once
        ctx.override_bus.publish_strategy(saved.strategy, saved.disabled, saved.until_ms)


def _disable_record(status: StrategyStatus) -> dict[str, object]:
    return {
        "reason": status.reason,
        "ticket": status.ticket,
        "requested_by": status.requested_by,
        "until": iso_or_none(status.until_ms),
        "changed_at": iso_or_none(status.changed_ms),
    }


def disable_strategy(
    ctx: OpsContext,
    strategy: str,
    *,
    reason: str,
    ticket: str,
    actor: Actor,
    until_ms: int | None = None,
    replace: bool = False,
) -> StrategyStatus:
    """Persist `strategy` as disabled (allocation 0, bucket manual) and log status=disabled.

    A strategy that is already disabled keeps its reason and ticket: the same request again is a
    no-op, a different one is refused (AlreadyExists) unless `replace`, and then the new entry
    records the replaced reason and ticket under `replaced_disable`."""
    name = check_strategy(ctx, strategy)
    why, ticket_id = change_reason(ctx, reason, ticket)
    now = ctx.clock_ms()
    if until_ms is not None and until_ms <= now:
        raise UserInputError(f"--until {format_timestamp(until_ms)}: must be in the future")
    previous = ctx.store.strategy_statuses().get(name)
    if previous is not None and status_active(previous, now):
        if (previous.reason, previous.ticket, previous.until_ms) == (why, ticket_id, until_ms):
            return previous
        if not replace:
            raise AlreadyExists(
                f"strategy {name} is already disabled (reason {previous.reason!r}, ticket "
                f"{previous.ticket or '-'}, by {previous.requested_by or '-'}); enable it first, or "
                'replace it (--replace / "replace": true) to record the new reason beside the old one'
            )
    _require_signing_key(ctx)
    status = StrategyStatus(name, True, why, ticket_id, actor.name, until_ms, now)
    profile = profile_of(ctx.cfg, name)
    replaced = previous is not None and previous.disabled
    _store_then_record(
        ctx,
        status,
        previous or StrategyStatus(name, False, changed_ms=now),
        kind="strategy_state",
        status="disabled",
        artefacts={"strategy": name, "ticket": status.ticket},
        metadata={
            "reason": status.reason,
            "requested_by": actor.name,
            **actor.metadata(),
            "risk_budget_bucket": MANUAL_BUCKET,
            "allocation": 0,
            "previous_bucket": profile,
            "previous_allocation": ctx.cfg.risk_profiles[profile].allocation(name),
            "until": iso_or_none(until_ms),
            "replaced_disable": _disable_record(previous) if replaced and previous else None,
        },
        tags=("strategy_state", name),
    )
    return status


def enable_strategy(
    ctx: OpsContext, strategy: str, *, reason: str, ticket: str, actor: Actor
) -> StrategyStatus:
    """Restore `strategy` to its risk profile's bucket and allocation; log status=restored.

    Enabling a strategy that is not disabled changes nothing and logs nothing."""
    name = check_strategy(ctx, strategy)
    previous = ctx.store.strategy_statuses().get(name)
    if previous is None or not previous.disabled:
        return previous or StrategyStatus(name, False)
    why, ticket_id = change_reason(ctx, reason, ticket)
    _require_signing_key(ctx)
    now = ctx.clock_ms()
    status = StrategyStatus(name, False, why, ticket_id, actor.name, None, now)
    profile = profile_of(ctx.cfg, name)
    _store_then_record(
        ctx,
        status,
        previous,
        kind="strategy_state",
        status="restored",
        artefacts={"strategy": name, "ticket": status.ticket},
        metadata={
            "reason": status.reason,
            "requested_by": actor.name,
            **actor.metadata(),
            "risk_budget_bucket": profile,
            "allocation": ctx.cfg.risk_profiles[profile].allocation(name),
            "previous_bucket": MANUAL_BUCKET,
            "disabled_reason": previous.reason,
            "disabled_ticket": previous.ticket,
        },
        tags=("strategy_state", name),
    )
    return status


# --- the global override (kill switch) -------------------------------------------------------------
