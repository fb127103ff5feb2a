"""Reassigning a ticket with a reason: to a member whose role works tickets and whose scope
holds the ticket's unit, recorded as its own event; everything else is refused and changes
nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse

from alerts.models import Ticket, TicketEvent
from alerts.services import ticket_reassign, ticket_transition
from organizations.members import membership_deactivate
from organizations.models import AuditEvent
from organizations.tenancy import tenant_context
from tests.factories import PASSWORD, member
from tests.helpers import BAD_ANSWERS, submit_and_score

User = get_user_model()


@pytest.fixture
def ticket(world) -> Ticket:
    response = submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant):
        found = Ticket.objects.get(response=response)
    assert found.org_unit_id == world.branch.pk
    return found


def page(world, ticket) -> str:
    return reverse("ticket_detail", args=[world.tenant.slug, ticket.number])


def test_a_manager_gives_a_ticket_to_the_branch_agent_with_a_reason(client, world, ticket):
    client.login(username=world.manager.username, password=PASSWORD)
    reply = client.post(
        page(world, ticket),
        {"action": "reassign", "assignee": world.agent.pk, "reason": "客户在浦东，就近处理"},
    )
    assert reply.status_code == 302
    with tenant_context(world.tenant):
        ticket.refresh_from_db()
        assert ticket.assignee_id == world.agent.pk and ticket.status == "in_progress"
        event = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.REASSIGNED)
        assert "就近处理" in event.note and world.agent.username in event.note
        assert AuditEvent.objects.filter(action="ticket.reassign").count() == 1
    assert "改派" in client.get(page(world, ticket)).content.decode()


def test_only_members_who_may_work_the_ticket_can_take_it(world, other_world, ticket):
    outsider = User.objects.get(username=f"{other_world.tenant.slug}-agent")
    with tenant_context(world.tenant):
        for to, why in (
            (world.other_agent, "其他网点"),  # scope: another branch
            (world.viewer, "只读"),  # role: cannot work tickets
            (outsider, "其他租户"),
        ):
            with pytest.raises(ValidationError, match="不能处理这张工单"):
                ticket_reassign(ticket=ticket, to=to, reason=why, by=world.manager)
        with pytest.raises(ValidationError, match="改派原因"):
            ticket_reassign(ticket=ticket, to=world.agent, reason="  ", by=world.manager)
        ticket.refresh_from_db()
        assert ticket.assignee_id is None
        assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.REASSIGNED).exists()


def test_a_deactivated_member_or_a_closed_ticket_cannot_be_reassigned(world, ticket):
    owner = User.objects.get(username=f"{world.tenant.slug}-owner")
    with tenant_context(world.tenant):
        membership_deactivate(membership=member(world.agent, world.tenant), by=owner)
        with pytest.raises(ValidationError, match="不能处理这张工单"):
            ticket_reassign(ticket=ticket, to=world.agent, reason="试试", by=world.manager)
        ticket_transition(ticket=ticket, action="claim", by=world.manager)
        ticket_transition(
            ticket=ticket,
            action="resolve",
            by=world.manager,
            root_cause=world.root_cause,
        )
        with pytest.raises(ValidationError, match="已解决或关闭"):
            ticket_reassign(ticket=ticket, to=world.manager, reason="复查", by=world.manager)


def test_a_viewer_cannot_reassign(client, world, ticket):
    client.login(username=world.viewer.username, password=PASSWORD)
    reply = client.post(
        page(world, ticket), {"action": "reassign", "assignee": world.agent.pk, "reason": "x"}
    )
    assert reply.status_code == 403
    with tenant_context(world.tenant):
        ticket.refresh_from_db()
        assert ticket.assignee_id is None


def test_a_refused_reassignment_says_why_on_the_page(client, world, ticket):
    client.login(username=world.manager.username, password=PASSWORD)
    reply = client.post(
        page(world, ticket), {"action": "reassign", "assignee": world.agent.pk, "reason": ""}
    )
    assert reply.status_code == 200
    assert "这个字段是必填项" in reply.content.decode() or "required" in reply.content.decode()
