"""POST /v1/incidents, /v1/incidents/{id}/notes and /close: the control API's doors to `tradeops
incident open`, `note` and `close` (the same use cases, `tradeops.ops.incident_control`).

Scope `incidents.write` (a token that may read incidents may not change them; one that may disable
strategies may not close incidents unless it holds this scope too). The rules of the other writes
hold: the why is required and not blank (the opening `title`, the note's `text`, the closing
`summary`), at most `MAX_REASON_CHARS`; the incident id is the ticket of these changes (opening
with a `ticket` makes it the id; without one the id is INC-YYYYMMDD-NNN, as from the CLI). The
entry names the token and the client certificate. The response is the incident as
`GET /v1/incidents/{id}` shows it (opening: 201).
Closing from the API seals no bundle (`tradeops incident bundle ID` does).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, status
from pydantic import Field

from tradeops.control_api import schemas
from tradeops.control_api.rbac import authorize
from tradeops.control_api.routes import (
    AUTH_RESPONSES,
    BAD_REQUEST,
    ERROR,
    Caller,
    Ctx,
    Responses,
    WriteLock,
    _door,
    offload,
)
from tradeops.domain.errors import UserInputError
from tradeops.ops import read_models as views
from tradeops.ops.controls import MAX_REASON_CHARS, MAX_TICKET_CHARS
from tradeops.ops.incident_control import (
    CloseIncident,
    IncidentChanged,
    NoteIncident,
    OpenIncident,
    close,
    note,
    open_,
)
from tradeops.ops.read_audit import incident_view

router = APIRouter(prefix="/v1", dependencies=[Depends(authorize)], responses=AUTH_RESPONSES)

IncidentId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
UNKNOWN_INCIDENT: Responses = {404: ERROR | {"description": "No incident of that id"}}
Who = Field(default=None, min_length=1, max_length=200, description="Default: the token's principal")


class IncidentOpen(schemas.Model):
    title: str = Field(min_length=1, max_length=MAX_REASON_CHARS, description="What is wrong (not blank)")
    severity: Literal["critical", "high", "medium", "low"]
    ticket: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_TICKET_CHARS,
        description="Ticket id; becomes the incident id (default: INC-YYYYMMDD-NNN)",
    )
    opened_by: str | None = Who


class IncidentNote(schemas.Model):
    text: str = Field(min_length=1, max_length=MAX_REASON_CHARS, description="The note (must not be blank)")
    by: str | None = Who


class IncidentClose(schemas.Model):
    status: Literal["restored", "mitigated", "false_alarm"]
    summary: str = Field(
        min_length=1, max_length=MAX_REASON_CHARS, description="Cause, impact, what was done (not blank)"
    )
    closed_by: str | None = Who


def _blank(field: str, value: str) -> None:
    if not value.strip():
        raise UserInputError(f"{field}: must not be blank")


@router.post(
    "/incidents",
    response_model=views.IncidentView,
    status_code=status.HTTP_201_CREATED,
    summary="Open an incident",
    responses=BAD_REQUEST | {409: ERROR | {"description": "An incident of that id is already open"}},
)
async def post_incident(body: IncidentOpen, ctx: Ctx, caller: Caller, lock: WriteLock) -> views.IncidentView:
    _blank("title", body.title)
    command = OpenIncident(body.title, body.severity, _door(caller), body.ticket, body.opened_by)

    def write() -> IncidentChanged:
        with lock:
            return open_(ctx, command)

    return incident_view((await offload(write)).incident, with_timeline=True)


@router.post(
    "/incidents/{incident_id}/notes",
    response_model=views.IncidentView,
    summary="Add a note to an incident (open or closed)",
    responses=BAD_REQUEST | UNKNOWN_INCIDENT,
)
async def post_incident_note(
    incident_id: IncidentId, body: IncidentNote, ctx: Ctx, caller: Caller, lock: WriteLock
) -> views.IncidentView:
    _blank("text", body.text)
    command = NoteIncident(incident_id, body.text, _door(caller), body.by)

    def write() -> IncidentChanged:
        with lock:
            return note(ctx, command)

    return incident_view((await offload(write)).incident, with_timeline=True)


@router.post(
    "/incidents/{incident_id}/close",
    response_model=views.IncidentView,
    summary="Close an open incident",
    responses=BAD_REQUEST
    | UNKNOWN_INCIDENT
    | {409: ERROR | {"description": "The incident is already closed"}},
)
async def post_incident_close(
    incident_id: IncidentId, body: IncidentClose, ctx: Ctx, caller: Caller, lock: WriteLock
) -> views.IncidentView:
    _blank("summary", body.summary)
    command = CloseIncident(incident_id, body.status, _door(caller), body.summary, body.closed_by)

    def write() -> IncidentChanged:
        with lock:
            return close(ctx, command)

    return incident_view((await offload(write)).incident, with_timeline=True)
