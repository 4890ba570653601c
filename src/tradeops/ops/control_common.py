"""What every operator use case shares: who acts, the reason/ticket rules, and the one way an
operator action becomes a signed decision-log entry."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradeops.config.overrides import OverrideFile
from tradeops.domain.errors import UserInputError
from tradeops.ops.control_views import valid_strategy_names
from tradeops.ops_ports import OpsContext


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


@dataclass(frozen=True, slots=True)
class Door:
    """Through which door a request comes, and who is on the other side of it.

    `principal` names the requester when the request does not (the OS user for the CLI, the token's
    principal for the API, the rollback's requester)."""

    via: str
    principal: str
    token_id: str | None = None
    client_subject: str | None = None

    def actor(self, requested_by: str | None) -> Actor:
        return Actor(requested_by or self.principal, self.via, self.token_id, self.client_subject)


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


class UnknownStrategy(UserInputError):
    """No strategy of that name (the control API answers 404)."""

    def __init__(self, strategy: str, valid: list[str]) -> None:
        super().__init__(f"unknown strategy {strategy!r}; valid: {', '.join(valid)}")
        self.strategy = strategy


def check_strategy(ctx: OpsContext, strategy: str) -> str:
    """`strategy`, or UnknownStrategy naming the valid ones."""
    valid = valid_strategy_names(ctx.cfg)
    if strategy not in valid:
        raise UnknownStrategy(strategy, valid)
    return strategy


def _require_signing_key(ctx: OpsContext) -> None:
    """Fail before changing anything when the decision-log entry could not be signed."""
    ctx.keys.signing_key()


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
    return ctx.operator_log.append(
        kind=kind,
        status=status,
        artefacts=artefacts,
        metadata={"environment": ctx.environment, **metadata},
        tags=tags,
        entry_id=entry_id,
    )


def _event_id(component: str, status: str, before: str | None, after: str) -> str:
    """The same override event gets the same id in every process that logs it (idempotent)."""
    digest = hashlib.sha256(f"{component}|{status}|{before or ''}|{after}".encode()).hexdigest()
    return f"override:{component}:{status}:{digest[:16]}"


def _log_path(ctx: OpsContext) -> str:
    return str(ctx.operator_log.path)


# --- per-strategy disable --------------------------------------------------------------------------
