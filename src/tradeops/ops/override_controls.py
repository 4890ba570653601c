"""Operator use cases for the kill switch: write and remove override files, and log override
events that happen outside tradeops (an `rm`, an expiry, a malformed file) exactly once, through a
ledger in the state store's kv table that makes "once" hold across processes."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from tradeops.config.overrides import (
    COMPONENTS,
    OVERRIDE_SCHEMA,
    OVERRIDE_SCHEMA_VERSION,
    OnDisable,
    OverrideFile,
    PositionsPolicy,
    format_timestamp,
)
from tradeops.domain.errors import AuditWriteFailed, TradeopsError, UserInputError
from tradeops.ops.control_common import (
    Actor,
    OverrideInfo,
    _event_id,
    _log_path,
    _record,
    _require_signing_key,
    change_reason,
)
from tradeops.ops_ports import OpsContext
from tradeops.runtime.override_ledger import LEDGER_PREFIX as OVERRIDE_LEDGER_PREFIX
from tradeops.runtime.overrides import OverrideState

LEDGER_PREFIX = OVERRIDE_LEDGER_PREFIX


def _ledger_get(ctx: OpsContext, component: str) -> str | None:
    return ctx.store.kv_get(LEDGER_PREFIX + component)


def _ledger_swap(ctx: OpsContext, component: str, expected: str | None, value: str) -> bool:
    return ctx.store.kv_swap(LEDGER_PREFIX + component, expected, value)


def _ledger_value(status: str, state: OverrideState | None = None) -> str:
    record: dict[str, str] = {"status": status}
    if state is not None and state.override is not None:
        record["timestamp"] = state.override.timestamp
        if state.override.ticket:
            record["ticket"] = state.override.ticket  # a later `rm` is logged under the same ticket
    if state is not None and state.malformed:
        record["problem"] = state.problem
    return json.dumps(record, sort_keys=True)


def _override_metadata(state: OverrideState) -> dict[str, object]:
    doc = state.override
    if state.malformed or doc is None:
        return {"malformed": state.malformed, "problem": state.problem}
    return {
        "action": doc.action,
        "reason": doc.reason,
        "requested_by": doc.requested_by,
        "timestamp": doc.timestamp,
        "expires_at": doc.expires_at,
        "on_disable": doc.on_disable.model_dump(),
        "forced": doc.forced,
    }


def _component(name: str) -> str:
    if name not in COMPONENTS:
        raise UserInputError(f"--component {name}: unknown; valid: {', '.join(COMPONENTS)}")
    return name


def create_override(
    ctx: OpsContext,
    *,
    reason: str,
    ticket: str,
    requested_by: str,
    actor: Actor,
    component: str = "multi_strategy",
    duration_minutes: int | None = None,
    force: bool = False,
    positions: PositionsPolicy | None = None,
    cancel_open_orders: bool | None = None,
) -> OverrideInfo:
    """Write the override file (every new order stops) and log status=disabled."""
    comp = COMPONENTS[_component(component)]
    why, ticket_id = change_reason(ctx, reason, ticket)
    if duration_minutes is not None and duration_minutes <= 0:
        raise UserInputError(f"--duration-minutes {duration_minutes}: must be a positive number of minutes")
    defaults = ctx.cfg.runtime.kill_switch
    now = ctx.clock_ms()
    document = OverrideFile(
        schema_name=OVERRIDE_SCHEMA,
        schema_version=OVERRIDE_SCHEMA_VERSION,
        timestamp=format_timestamp(now),
        action=comp.action,
        reason=why,
        ticket=ticket_id,
        requested_by=requested_by.strip(),
        expires_at=None if duration_minutes is None else format_timestamp(now + duration_minutes * 60_000),
        on_disable=OnDisable(
            cancel_open_orders=defaults.cancel_open_orders
            if cancel_open_orders is None
            else cancel_open_orders,
            positions=positions or defaults.positions,
        ),
        forced=force,
    )
    _require_signing_key(ctx)
    # Log what happened while no scheduler was watching (an rm, an expiry) before the new event.
    # A halt is never held back by the audit trail: if that fails the scheduler logs it later.
    with contextlib.suppress(TradeopsError):
        reconcile_override_events(ctx, ctx.overrides.read_all(now))
    target = ctx.overrides.directory / comp.file_name
    before = ctx.overrides.read(comp.file_name, now)
    ledger_before = _ledger_get(ctx, comp.name)
    written = OverrideState(True, comp.name, target, override=document)
    # The ledger moves first, so a watcher that sees the new file does not log it a second time.
    _ledger_swap(ctx, comp.name, ledger_before, _ledger_value("disabled", written))
    try:
        path = ctx.overrides.write(document, force=force)
    except BaseException:
        _ledger_swap(ctx, comp.name, _ledger_value("disabled", written), ledger_before or "{}")
        raise
    if ctx.override_bus is not None:  # cluster mode: every host obeys it, too
        ctx.override_bus.publish(comp.file_name, path.read_bytes())
    try:
        _record_override_written(ctx, comp.name, document, path, written, before, actor)
    except TradeopsError as exc:
        # In force but not recorded: let the running scheduler record it once the log is writable.
        _ledger_swap(ctx, comp.name, _ledger_value("disabled", written), ledger_before or "{}")
        raise AuditWriteFailed(
            f"override written and in force ({path}); its audit entry could NOT be written: {exc}. "
            f"The running scheduler records it once {_log_path(ctx)} is writable"
        ) from exc
    return OverrideInfo(path, comp.name, document, before.present)


def _record_override_written(
    ctx: OpsContext,
    name: str,
    document: OverrideFile,
    path: Path,
    written: OverrideState,
    before: OverrideState,
    actor: Actor,
) -> None:
    _record(
        ctx,
        kind="override",
        status="disabled",
        artefacts={"component": name, "ticket": document.ticket, "path": str(path)},
        metadata={
            **_override_metadata(written),
            "component": name,
            **actor.metadata(),
            "replaced": before.present,
            "replaced_override": _override_metadata(before) if before.present else None,
        },
        tags=("kill_switch", name),
    )


def remove_override(
    ctx: OpsContext, *, actor: Actor, reason: str = "", component: str | None = None, ticket: str = ""
) -> bool:
    """Remove the override file(s) (trading resumes) and log status=enabled; False if none existed.

    The reason must not be blank; the ticket defaults to the removed override's own ticket."""
    names = [_component(component)] if component else list(COMPONENTS)
    now = ctx.clock_ms()
    _require_signing_key(ctx)
    reconcile_override_events(ctx, ctx.overrides.read_all(now))
    present = [(n, ctx.overrides.read(COMPONENTS[n].file_name, now)) for n in names]
    present = [(n, s) for n, s in present if s.present]
    if not present:
        return False
    own_ticket = next((st.override.ticket for _n, st in present if st.override and st.override.ticket), "")
    why, ticket_id = change_reason(ctx, reason, ticket.strip() or own_ticket)
    removed_any = False
    for name, state in present:
        ledger_before = _ledger_get(ctx, name)
        # Trading resumes only once the removal is recorded: the file goes first, the entry next,
        # the ledger last (the kill switch keeps trading halted while the ledger says disabled).
        if state.path is None or not ctx.overrides.remove(state.path):
            continue
        if ctx.override_bus is not None:
            ctx.override_bus.publish(COMPONENTS[name].file_name, None)
        removed_any = True
        enabled = _ledger_value("enabled")
        try:
            _record_removal(
                ctx,
                name,
                state,
                actor,
                why,
                ticket_id or (state.override.ticket if state.override else None),
                _event_id(name, "enabled", ledger_before, enabled),
            )
        except TradeopsError as exc:
            raise AuditWriteFailed(
                f"override {state.path} removed, but trading stays halted: its audit entry could NOT be "
                f"written: {exc}. Trading resumes once the removal is recorded in {_log_path(ctx)} "
                "(the running scheduler retries every second)"
            ) from exc
        _ledger_swap(ctx, name, ledger_before, enabled)
    return removed_any


def _record_removal(
    ctx: OpsContext,
    name: str,
    state: OverrideState,
    actor: Actor,
    reason: str,
    ticket: str | None,
    entry_id: str,
) -> None:
    _record(
        ctx,
        kind="override",
        status="enabled",
        entry_id=entry_id,
        artefacts={"component": name, "path": str(state.path)},
        metadata={
            "reason": reason.strip(),
            "component": name,
            **actor.metadata(),
            "removed_override": _override_metadata(state),
            "ticket": ticket,
        },
        tags=("kill_switch", name),
    )


def reconcile_override_events(ctx: OpsContext, state: OverrideState) -> None:
    """Log override changes nobody logged yet: a file removed by hand (status=enabled), an expiry
    (status=expired), a file written by another tool (status=disabled) or a malformed one
    (status=malformed). Each event is logged once, even with several schedulers watching."""
    files = {f.component: f for f in (state.files or ((state,) if state.present else ()))}
    for name in COMPONENTS:
        current = files.get(name)
        ledger = _ledger_get(ctx, name)
        status = _event_status(current)
        if status is None:
            if ledger is None or json.loads(ledger).get("status") in ("enabled", None):
                continue  # nothing was ever logged as disabled: an absent file is not news
            status = "enabled"
        wanted = _ledger_value(status, current)
        if wanted == ledger:
            continue
        # Recorded first (idempotent by event id), then the ledger: an event that resumes trading
        # never takes effect before its entry is durable.
        observed_ticket = json.loads(ledger).get("ticket") if ledger else None
        _record_reconciled(
            ctx, name, status, current, _event_id(name, status, ledger, wanted), observed_ticket
        )
        _ledger_swap(ctx, name, ledger, wanted)


def _event_status(state: OverrideState | None) -> str | None:
    if state is None or not state.present:
        return None
    if state.malformed:
        return "malformed"
    return "expired" if state.expired else "disabled"


def _record_reconciled(
    ctx: OpsContext,
    name: str,
    status: str,
    state: OverrideState | None,
    entry_id: str,
    previous_ticket: str | None = None,
) -> None:
    """One scheduler-detected override event; it carries the ticket of the change it observes (the
    file's, or for a removal the removed file's)."""
    how = {
        "enabled": "override file removed outside tradeops (e.g. rm)",
        "expired": "override reached expires_at",
        "disabled": "override file written outside tradeops",
        "malformed": "override file present but not trusted: trading halted",
    }[status]
    path = state.path if state is not None else ctx.overrides_dir / COMPONENTS[name].file_name
    metadata: dict[str, object] = {"component": name, "detected_by": "scheduler", "event": how}
    if state is not None:
        metadata |= _override_metadata(state)
    ticket = state.override.ticket if state is not None and state.override else previous_ticket
    _record(
        ctx,
        kind="override",
        status=status,
        artefacts={"component": name, "path": str(path), "ticket": ticket},
        metadata=metadata,
        tags=("kill_switch", name),
        entry_id=entry_id,
    )
