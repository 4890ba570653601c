"""What every operator use case shares: who acts, the reason/ticket rules, and the one way an
operator action becomes a signed decision-log entry."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradeops.bootstrap.ops import OpsContext
from tradeops.domain.errors import UserInputError
from tradeops.ops.audit_trail import operator_key, record_operator_action
from tradeops.ops.control_views import (
    valid_strategy_names,
)
from tradeops.runtime.overrides import OverrideFile, format_timestamp


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
