"""Silences as `(context, Command) -> View` for the control API and the console: create a Stage4
silence, expire one. Both go through the silence use cases of `tradeops.ops.alerting` (the ones
behind `tradeops alerts silence` / `unsilence`), so each is signed in the operations log (kind
alert_silence) with the reason, the ticket and who asked through which door."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tradeops.domain.errors import UserInputError
from tradeops.ops.alerting import silence_stage4_alerts, unsilence_alerts
from tradeops.ops.control_common import Door
from tradeops.ops.controls import MAX_REASON_CHARS, MAX_TICKET_CHARS
from tradeops.ops.read_alerts import alertmanager_url
from tradeops.ops_ports import OpsContext

__all__ = ["CreateSilence", "ExpireSilence", "SilenceChanged", "create", "expire"]


@dataclass(frozen=True, slots=True)
class CreateSilence:
    reason: str
    ticket: str
    door: Door
    requested_by: str | None = None
    duration: str | None = None  # 30m, 2h, 1d; default observability.alertmanager.default_silence_duration
    matchers: tuple[str, ...] = ()  # extra k=v matchers over the configured Stage4 ones


@dataclass(frozen=True, slots=True)
class ExpireSilence:
    silence_id: str
    reason: str
    ticket: str
    door: Door
    requested_by: str | None = None


@dataclass(frozen=True, slots=True)
class SilenceChanged:
    """The silence after the change and the decision-log entry that records it."""

    silence_id: str
    state: str
    ends_at: str
    matchers: tuple[str, ...]
    ticket: str
    reason: str
    decision_log: str
    entry_seq: int | None

    def to_json(self) -> dict[str, object]:
        return {
            "silence_id": self.silence_id,
            "state": self.state,
            "ends_at": self.ends_at,
            "matchers": list(self.matchers),
            "ticket": self.ticket,
            "reason": self.reason,
            "decision_log": self.decision_log,
            "entry_seq": self.entry_seq,
        }


def _checked(reason: str, ticket: str) -> tuple[str, str]:
    reason, ticket = reason.strip(), ticket.strip()
    if not reason or len(reason) > MAX_REASON_CHARS:
        raise UserInputError(f"reason: give a reason of 1..{MAX_REASON_CHARS} characters")
    if not ticket or len(ticket) > MAX_TICKET_CHARS:
        raise UserInputError(f"ticket: give a ticket of 1..{MAX_TICKET_CHARS} characters, e.g. INC-42")
    return reason, ticket


def _url(ctx: OpsContext) -> str:
    url = alertmanager_url(ctx)
    if not url:
        raise UserInputError(
            "no Alertmanager configured: set observability.alertmanager.url or TRADEOPS_ALERTMANAGER_URL"
        )
    return url


def _seq(entry: dict[str, Any]) -> int | None:
    seq = entry.get("seq")
    return seq if isinstance(seq, int) else None


def _matcher(api: dict[str, Any]) -> str:
    """Alertmanager's API v2 matcher as text: name, operator (=, !=, =~, !~), value."""
    operator = (
        ("=~" if api.get("isRegex") else "=")
        if api.get("isEqual", True)
        else "!~"
        if api.get("isRegex")
        else "!="
    )
    return f"{api.get('name')}{operator}{api.get('value')}"


def create(ctx: OpsContext, command: CreateSilence) -> SilenceChanged:
    """Silence the Stage4 alerts (the configured matchers plus `command.matchers`)."""
    reason, ticket = _checked(command.reason, command.ticket)
    actor = command.door.actor(command.requested_by)
    result, entry = silence_stage4_alerts(
        ctx,
        url=_url(ctx),
        duration=command.duration,
        ticket=ticket,
        created_by=actor.name,
        matchers=command.matchers,
        comment=reason,
        audit={"reason": reason, **actor.metadata()},
    )
    return SilenceChanged(
        result.silence_id,
        result.state,
        result.ends_at,
        result.matchers,
        ticket,
        reason,
        str(ctx.operator_log.path),
        _seq(entry),
    )


def expire(ctx: OpsContext, command: ExpireSilence) -> SilenceChanged:
    """Expire one silence now: the alerts it held notify again."""
    reason, ticket = _checked(command.reason, command.ticket)
    actor = command.door.actor(command.requested_by)
    outcome = unsilence_alerts(
        ctx,
        url=_url(ctx),
        silence_id=command.silence_id,
        expired_by=actor.name,
        ticket=ticket,
        audit={"reason": reason, **actor.metadata()},
    )
    after = outcome["after"]
    matchers = tuple(_matcher(m) for m in after.get("matchers") or [])
    return SilenceChanged(
        command.silence_id,
        str((after.get("status") or {}).get("state", "unknown")),
        str(after.get("endsAt", "")),
        matchers,
        ticket,
        reason,
        str(ctx.operator_log.path),
        _seq(outcome["entry"]),
    )
