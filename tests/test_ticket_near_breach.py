"""The assignee is told once when a ticket's resolution clock is near breach (the tenant's
near-breach share of its target, in working time), by the escalation sweep; an unassigned
ticket has nobody to tell, and a reopened ticket's new clock can warn again."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from alerts.models import TicketEvent
from alerts.services import ticket_reassign
from notifications.models import Notification
from organizations.tenancy import tenant_context
from tests.test_ticket_escalation import STEP_1, STEP_2, sweep
from tests.test_ticket_sla import FRIDAY_EVENING, act, open_ticket


def warnings(world, ticket) -> list[int | None]:
    with tenant_context(world.tenant):
        return list(
            TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.NEAR_BREACH)
            .order_by("id")
            .values_list("to_user_id", flat=True)
        )


def assigned(world):
    ticket = open_ticket(world, FRIDAY_EVENING)
    with time_machine.travel(FRIDAY_EVENING, tick=False), tenant_context(world.tenant):
        return ticket_reassign(ticket=ticket, to=world.agent, reason="就近处理", by=world.manager)


def test_the_assignee_is_told_once_when_the_clock_is_near_breach(
    world, django_capture_on_commit_callbacks
):
    ticket = assigned(world)
    with django_capture_on_commit_callbacks(execute=True):
        sweep(STEP_1 - timedelta(minutes=1))
        assert warnings(world, ticket) == []
        sweep(STEP_1)  # 80 % of the 24 working hours used
        sweep(STEP_2)
    assert warnings(world, ticket) == [world.agent.pk]
    with tenant_context(world.tenant):
        told = Notification.objects.filter(recipient=world.agent, kind="near_breach")
        assert told.count() == 1 and told.get().ticket_id == ticket.pk


def test_an_unassigned_ticket_warns_nobody(world):
    ticket = open_ticket(world, FRIDAY_EVENING)
    assert ticket.assignee_id is None
    sweep(STEP_2)
    assert warnings(world, ticket) == []


def test_a_reopened_ticket_can_be_warned_again_on_its_new_clock(world):
    ticket = assigned(world)
    sweep(STEP_1)
    with tenant_context(world.tenant):
        ticket.refresh_from_db()
        ticket.root_cause = world.root_cause
        ticket.save(update_fields=["root_cause"])
    act(world, ticket, "resolve", STEP_1 + timedelta(minutes=5))
    reopened = act(world, ticket, "reopen", STEP_1 + timedelta(minutes=10))
    assert reopened.near_breach_warned_at is None
    assert warnings(world, ticket) == [world.agent.pk]
