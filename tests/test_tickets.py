"""Closed loop: a bad response opens one ticket routed to its branch; the ticket moves only
along the allowed transitions, and every step is kept in its history."""

import pytest
from django.utils import timezone

from alerts.models import Ticket, TicketEvent, TicketStatus
from alerts.services import (
    TicketTransitionError,
    ticket_note_add,
    ticket_transition,
    tickets_escalate_due,
)
from analytics.models import ResponseScore
from analytics.services import response_score
from organizations.tenancy import tenant_context
from tests.helpers import BAD_ANSWERS, GOOD_ANSWERS, submit_and_score


def test_detractor_opens_a_ticket_routed_to_the_touchpoint_branch_with_sla(world):
    response = submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant):
        ticket = Ticket.objects.get(response=response)
        assert ticket.org_unit == world.branch
        assert ticket.status == TicketStatus.OPEN
        assert ticket.sla_due_at > timezone.now()
        assert ticket.number == 1
        assert list(ticket.events.values_list("kind", flat=True)) == ["created"]


def test_a_link_issued_for_a_branch_routes_the_ticket_to_that_branch(world):
    response = submit_and_score(world, BAD_ANSWERS, link=world.branch_link)
    with tenant_context(world.tenant):
        assert Ticket.objects.get(response=response).org_unit == world.other_branch


def test_promoter_with_positive_text_opens_no_ticket(world):
    response = submit_and_score(world, GOOD_ANSWERS)
    with tenant_context(world.tenant):
        assert response.score.nps_category == "promoter"
        assert response.score.sentiment_label == "positive"
        assert not Ticket.objects.exists()


def test_scoring_twice_keeps_one_score_and_one_ticket(world):
    response = submit_and_score(world, BAD_ANSWERS)
    response_score(response_id=response.pk)
    with tenant_context(world.tenant):
        assert ResponseScore.objects.filter(response=response).count() == 1
        assert Ticket.objects.filter(response=response).count() == 1


def test_ticket_numbers_are_sequential_per_tenant(world, other_world):
    submit_and_score(world, BAD_ANSWERS)
    submit_and_score(world, BAD_ANSWERS)
    submit_and_score(other_world, BAD_ANSWERS)
    with tenant_context(world.tenant):
        assert sorted(Ticket.objects.values_list("number", flat=True)) == [1, 2]
    with tenant_context(other_world.tenant):
        assert list(Ticket.objects.values_list("number", flat=True)) == [1]


@pytest.fixture
def ticket(world):
    submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant):
        yield Ticket.objects.get()


def test_agent_works_a_ticket_from_claim_to_close_and_history_says_who_and_when(world, ticket):
    agent = world.agent
    ticket = ticket_transition(ticket=ticket, action="claim", by=agent)
    assert ticket.assignee == agent
    ticket_note_add(ticket=ticket, by=agent, note="已致电客户致歉，约定明天回访")
    ticket = ticket_transition(ticket=ticket, action="wait_customer", by=agent)
    ticket = ticket_transition(ticket=ticket, action="resume", by=agent)
    ticket = ticket_transition(
        ticket=ticket,
        action="resolve",
        by=agent,
        root_cause=world.root_cause,
        resolution="优化叫号",
    )
    ticket = ticket_transition(ticket=ticket, action="close", by=agent)
    assert ticket.status == TicketStatus.CLOSED and ticket.closed_at is not None
    events = list(TicketEvent.objects.filter(ticket=ticket).order_by("at", "id"))
    assert [event.kind for event in events] == [
        "created",
        "claimed",
        "note",
        "status",
        "sla_paused",
        "status",
        "sla_resumed",
        "status",
        "status",
    ]
    assert all(event.actor_user == agent for event in events[1:])
    assert [event.to_status for event in events if event.to_status][-1] == "closed"


@pytest.mark.parametrize("action", ["resolve", "close", "resume", "reopen", "fly"])
def test_transitions_not_in_the_table_are_refused_with_a_clear_error(ticket, world, action):
    with pytest.raises(TicketTransitionError) as error:
        ticket_transition(ticket=ticket, action=action, by=world.agent, root_cause=world.root_cause)
    assert error.value.messages[0]
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN


def test_resolving_needs_a_root_cause(ticket, world):
    ticket = ticket_transition(ticket=ticket, action="claim", by=world.agent)
    with pytest.raises(TicketTransitionError, match="根本原因"):
        ticket_transition(ticket=ticket, action="resolve", by=world.agent)


def test_closed_ticket_can_be_reopened_and_claimed_again(ticket, world):
    for action in ("claim", "resolve", "close", "reopen", "claim"):
        ticket = ticket_transition(
            ticket=ticket, action=action, by=world.agent, root_cause=world.root_cause
        )
    assert ticket.status == TicketStatus.IN_PROGRESS and ticket.closed_at is None


def test_an_overdue_ticket_takes_one_escalation_step_per_sweep(ticket, world):
    with tenant_context(world.tenant):
        Ticket.objects.filter(pk=ticket.pk).update(sla_due_at=timezone.now())
    assert tickets_escalate_due() == 1
    ticket.refresh_from_db()
    assert ticket.escalated_at is not None and ticket.escalation_level == 1
    assert ticket.events.filter(kind="escalated").count() == 1
