"""Operator use cases: kill switch and per-strategy disable. The CLI and the control API call these
functions (and only these) to change or read operator state.

Every state change appends exactly one signed decision-log entry. Override events that happen
outside these functions (an `rm` of the file, an expiry, a malformed file) are logged once by
`reconcile_override_events`, which the running scheduler calls when its watcher sees a change; a
ledger in the state store's kv table makes "once" hold across processes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from tradeops.bootstrap.ops import OpsContext
from tradeops.config.models import MANUAL_BUCKET
from tradeops.domain.errors import AlreadyExists, AuditWriteFailed, TradeopsError, UserInputError
from tradeops.ops.audit_trail import operator_key, record_operator_action
from tradeops.ops.control_views import (
    SchedulerStatus,
    list_schedules,
    profile_of,
    scheduler_status,
    valid_strategy_names,
)
from tradeops.ops.overrides_file import remove_override_file, write_override
from tradeops.runtime.kill_switch import status_active
from tradeops.runtime.override_ledger import LEDGER_PREFIX as OVERRIDE_LEDGER_PREFIX
from tradeops.runtime.overrides import (
    COMPONENTS,
    OVERRIDE_SCHEMA,
    OVERRIDE_SCHEMA_VERSION,
    OnDisable,
    OverrideFile,
    OverrideState,
    PositionsPolicy,
    format_timestamp,
    read_override,
    read_overrides,
)
from tradeops.runtime.ports import StrategyStatus

__all__ = [
    "MAX_REASON_CHARS",
    "MAX_TICKET_CHARS",
    "Actor",
    "OpsContext",
    "OverrideInfo",
    "SchedulerStatus",
    "create_override",
    "disable_strategy",
    "enable_strategy",
    "list_schedules",
    "reconcile_override_events",
    "remove_override",
    "scheduler_status",
]


@dataclass(frozen=True)
class Actor:
    """Who asked: a person or team, through which door (cli, api), with which credentials."""

    name: str
    via: str
    token_id: str | None = None
    client_subject: str | None = None

    def metadata(self) -> dict[str, object]:
        return {
            "actor": self.name,
            "via": self.via,
            "token_id": self.token_id,
            "client_subject": self.client_subject,
        }


@dataclass(frozen=True)
class OverrideInfo:
    path: Path
    component: str
    document: OverrideFile
    replaced: bool

    def to_dict(self) -> dict[str, object]:
        return {"path": str(self.path), "component": self.component, "replaced": self.replaced} | dict(
            self.document.to_json()
        )


# --- shared helpers --------------------------------------------------------------------------------

MAX_REASON_CHARS = 500
MAX_TICKET_CHARS = 100


def _text(value: str, name: str, limit: int) -> str:
    text = value.strip()
    if len(text) > limit:
        raise UserInputError(f"{name} is {len(text)} characters; at most {limit} (nothing changed)")
    if any(ord(c) < 32 and c not in "\t" for c in text):
        raise UserInputError(f"{name} must be one line without control characters (nothing changed)")
    return text


def change_reason(ctx: OpsContext, reason: str, ticket: str) -> tuple[str, str]:
    """The stripped reason and ticket of an operator change, or UserInputError: every change says
    why (non-blank reason) and, with `control_api.require_ticket`, under which ticket."""
    why = _text(reason, "reason (--reason)", MAX_REASON_CHARS)
    if not why:
        raise UserInputError("reason (--reason) must not be blank: say why (nothing changed)")
    ticket_id = _text(ticket, "ticket (--ticket)", MAX_TICKET_CHARS)
    if not ticket_id and ctx.cfg.control_api.require_ticket:
        raise UserInputError(
            "ticket (--ticket) is required: control_api.require_ticket is on (nothing changed)"
        )
    return why, ticket_id


def _check_strategy(ctx: OpsContext, strategy: str) -> str:
    valid = valid_strategy_names(ctx.cfg)
    if strategy not in valid:
        raise UserInputError(f"unknown strategy {strategy!r}; valid: {', '.join(valid)}")
    return strategy


def _require_signing_key(ctx: OpsContext) -> None:
    """Fail before changing anything when the decision-log entry could not be signed."""
    operator_key(ctx.cfg, ctx.environ, ctx.operations_log)


def _record(
    ctx: OpsContext,
    *,
    kind: str,
    status: str,
    artefacts: dict[str, object],
    metadata: dict[str, object],
    tags: tuple[str, ...],
    entry_id: str | None = None,
) -> dict[str, Any]:
    return record_operator_action(
        ctx.cfg,
        kind=kind,
        status=status,
        artefacts=artefacts,
        metadata={"environment": ctx.environment, **metadata},
        tags=tags,
        log_path=ctx.operations_log,
        environ=ctx.environ,
        entry_id=entry_id,
    )


def _event_id(component: str, status: str, before: str | None, after: str) -> str:
    """The same override event gets the same id in every process that logs it (idempotent)."""
    digest = hashlib.sha256(f"{component}|{status}|{before or ''}|{after}".encode()).hexdigest()
    return f"override:{component}:{status}:{digest[:16]}"


def _log_path(ctx: OpsContext) -> str:
    return str(ctx.operations_log or ctx.cfg.decision_log.operations_log)


def _iso(ts_ms: int | None) -> str | None:
    return None if ts_ms is None else format_timestamp(ts_ms)


# --- per-strategy disable --------------------------------------------------------------------------


def _store_then_record(ctx: OpsContext, saved: StrategyStatus, undo: StrategyStatus, /, **entry: Any) -> None:
    """Persist `saved`, then log it; if the log entry cannot be written, put `undo` back
    (a state change without its signed record must not survive)."""
    ctx.store.set_strategy_status(saved)
    try:
        _record(ctx, **entry)
    except BaseException:
        ctx.store.set_strategy_status(undo)
        raise


def _disable_record(status: StrategyStatus) -> dict[str, object]:
    return {
        "reason": status.reason,
        "ticket": status.ticket,
        "requested_by": status.requested_by,
        "until": _iso(status.until_ms),
        "changed_at": _iso(status.changed_ms),
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
    name = _check_strategy(ctx, strategy)
    why, ticket_id = change_reason(ctx, reason, ticket)
    now = ctx.clock_ms()
    if until_ms is not None and until_ms <= now:
        raise UserInputError(f"--until {_iso(until_ms)}: must be in the future")
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
            "until": _iso(until_ms),
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
    name = _check_strategy(ctx, strategy)
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

LEDGER_PREFIX = OVERRIDE_LEDGER_PREFIX


@runtime_checkable
class KeyValue(Protocol):
    """The state store's small kv table (SqlStateStore has it); holds the override-event ledger."""

    def kv_get(self, key: str) -> str | None: ...

    def kv_swap(self, key: str, expected: str | None, value: str) -> bool: ...


def _kv(ctx: OpsContext) -> KeyValue:
    if not isinstance(ctx.store, KeyValue):
        raise TypeError(f"{type(ctx.store).__name__} has no kv_get/kv_swap (use SqlStateStore)")
    return ctx.store


def _ledger_get(ctx: OpsContext, component: str) -> str | None:
    return _kv(ctx).kv_get(LEDGER_PREFIX + component)


def _ledger_swap(ctx: OpsContext, component: str, expected: str | None, value: str) -> bool:
    return _kv(ctx).kv_swap(LEDGER_PREFIX + component, expected, value)


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
        reconcile_override_events(ctx, read_overrides(ctx.overrides_dir, now))
    target = ctx.overrides_dir / comp.file_name
    before = read_override(target, now)
    ledger_before = _ledger_get(ctx, comp.name)
    written = OverrideState(True, comp.name, target, override=document)
    # The ledger moves first, so a watcher that sees the new file does not log it a second time.
    _ledger_swap(ctx, comp.name, ledger_before, _ledger_value("disabled", written))
    try:
        path = write_override(ctx.overrides_dir, document, force=force)
    except BaseException:
        _ledger_swap(ctx, comp.name, _ledger_value("disabled", written), ledger_before or "{}")
        raise
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
    reconcile_override_events(ctx, read_overrides(ctx.overrides_dir, now))
    present = [(n, read_override(ctx.overrides_dir / COMPONENTS[n].file_name, now)) for n in names]
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
        if not remove_override_file(state.path):  # type: ignore[arg-type]
            continue
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
