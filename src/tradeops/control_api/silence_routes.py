"""POST /v1/silences and DELETE /v1/silences/{silence_id}: the control API's door to the silence use
cases (`tradeops.ops.silence_control`, the same ones as `tradeops alerts silence` / `unsilence`).
Scope `alerts.write`; each change is signed in the operations log (kind alert_silence)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import Field

from tradeops.control_api import schemas
from tradeops.control_api.rbac import authorize
from tradeops.control_api.routes import AUTH_RESPONSES, BAD_REQUEST, Caller, Ctx, WriteLock, _door, offload
from tradeops.ops.controls import MAX_REASON_CHARS, MAX_TICKET_CHARS
from tradeops.ops.silence_control import CreateSilence, ExpireSilence, SilenceChanged, create, expire

router = APIRouter(prefix="/v1", dependencies=[Depends(authorize)], responses=AUTH_RESPONSES, tags=["alerts"])
Matcher = Annotated[
    str, Field(min_length=3, max_length=300, pattern=r"^[A-Za-z_][A-Za-z0-9_]*(=|!=|=~|!~).*$")
]


class SilenceRequest(schemas.Model):
    reason: str = schemas.Reason
    ticket: str = Field(min_length=1, max_length=MAX_TICKET_CHARS, description="Incident or change ticket")
    requested_by: str | None = Field(default=None, min_length=1, max_length=200)
    duration: str | None = Field(
        default=None,
        min_length=2,
        max_length=16,
        pattern=r"^[0-9]+[smhd]$",
        description="30m, 2h, 1d (default observability.alertmanager.default_silence_duration)",
    )
    matchers: list[Matcher] = Field(
        default_factory=list, max_length=16, description="Extra matchers over the configured Stage4 ones"
    )


class SilenceView(schemas.Model):
    silence_id: str
    state: str = Field(description="Alertmanager's state after the change: active, pending, expired")
    ends_at: str
    matchers: list[str]
    ticket: str
    reason: str
    decision_log: str = Field(description="The operations log the change was signed into")
    entry_seq: int | None = Field(description="Sequence number of that decision-log entry")


SilenceId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]


@router.post(
    "/silences",
    response_model=SilenceView,
    status_code=status.HTTP_201_CREATED,
    summary="Silence the Stage4 alerts in Alertmanager (signed in the decision log)",
    responses=BAD_REQUEST,
)
async def post_silence(body: SilenceRequest, ctx: Ctx, caller: Caller, lock: WriteLock) -> dict[str, object]:
    command = CreateSilence(
        body.reason, body.ticket, _door(caller), body.requested_by, body.duration, tuple(body.matchers)
    )

    def write() -> SilenceChanged:
        with lock:
            return create(ctx, command)

    return (await offload(write)).to_json()


@router.delete(
    "/silences/{silence_id}",
    response_model=SilenceView,
    summary="Expire a silence now (its alerts notify again; signed in the decision log)",
    responses=BAD_REQUEST,
)
async def delete_silence(
    silence_id: SilenceId,
    ctx: Ctx,
    caller: Caller,
    lock: WriteLock,
    reason: Annotated[str, Query(min_length=1, max_length=MAX_REASON_CHARS, description="Why")],
    ticket: Annotated[str, Query(min_length=1, max_length=MAX_TICKET_CHARS, description="Ticket")],
) -> dict[str, object]:
    command = ExpireSilence(silence_id, reason, ticket, _door(caller))

    def write() -> SilenceChanged:
        with lock:
            return expire(ctx, command)

    return (await offload(write)).to_json()
