"""Writing one entry of a ticket's history (TicketEvent), shared by the services that act on
tickets."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from alerts.models import Ticket, TicketEvent
from organizations.models import ApiKey
from organizations.services import Actor


def ticket_event_add(
    ticket: Ticket, *, by: Actor, kind: str, note: str = "", from_status: str = ""
) -> TicketEvent:
    """An event by a person or a partner's key (None: the system); a status change names the
    status it left and the ticket's status now."""
    return TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        from_status=from_status,
        to_status=ticket.status if from_status else "",
        note=note,
        actor_user=by if isinstance(by, AbstractBaseUser) else None,
        actor_api_key=by if isinstance(by, ApiKey) else None,
    )
