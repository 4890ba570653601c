"""Tickets flow: an operator change given without a ticket links to the one open incident, if
exactly one is open (and says so); otherwise it keeps no ticket."""

from __future__ import annotations

from dataclasses import dataclass

from tradeops.ops.incident_control import ListIncidents, list_all
from tradeops.ops_ports import OpsContext


@dataclass(frozen=True, slots=True)
class ResolveTicket:
    ticket: str  # as given; blank: link to the one open incident


@dataclass(frozen=True, slots=True)
class ResolvedTicket:
    ticket: str
    linked_incident: str | None = None  # set when the ticket came from the one open incident

    @property
    def notice(self) -> str | None:
        if self.linked_incident is None:
            return None
        return (
            f"ticket: {self.ticket} (linked to the one open incident {self.linked_incident}; "
            "pass --ticket to name another)"
        )


def resolve_ticket(ctx: OpsContext, command: ResolveTicket) -> ResolvedTicket:
    given = command.ticket.strip()
    if given:
        return ResolvedTicket(given)
    open_now = list_all(ctx, ListIncidents(open_only=True)).incidents
    if len(open_now) != 1:
        return ResolvedTicket("")
    incident = open_now[0]
    return ResolvedTicket(incident.ticket or incident.id, linked_incident=incident.id)
