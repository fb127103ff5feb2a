"""Reads of tickets, scoped to the current tenant and a member's org subtree."""

from __future__ import annotations

from django.db.models import QuerySet

from alerts.models import OPEN_STATUSES, RootCause, Ticket, TicketEvent


def ticket_list(
    *, scope_path: str = "", status: str = "", open_only: bool = False
) -> QuerySet[Ticket]:
    """Tickets in the org subtree `scope_path` ("" = whole tenant), most urgent SLA first."""
    tickets = Ticket.objects.select_related(
        "response__survey",
        "response__touchpoint",
        "response__score",
        "org_unit",
        "assignee",
        "rule",
    )
    if scope_path:
        tickets = tickets.filter(org_unit__path__startswith=scope_path)
    if status:
        tickets = tickets.filter(status=status)
    elif open_only:
        tickets = tickets.filter(status__in=OPEN_STATUSES)
    return tickets.order_by("sla_due_at", "number")


def ticket_events(ticket: Ticket) -> QuerySet[TicketEvent]:
    return ticket.events.select_related("actor_user", "actor_api_key").order_by("at", "id")


def root_cause_list() -> QuerySet[RootCause]:
    return RootCause.objects.order_by("level", "name")
