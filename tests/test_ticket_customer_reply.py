"""A customer's reply to a ticket, relayed by a partner's system or an agent: its own event in
the ticket's history, a notification to the assignee, and the SLA clock running again for a
ticket that waited on the customer; a closed ticket or an empty reply is refused."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from alerts.models import Ticket, TicketEvent, TicketStatus
from alerts.services import (
    TicketTransitionError,
    ticket_customer_reply,
    ticket_reassign,
    ticket_transition,
)
from notifications.models import Notification
from organizations.tenancy import tenant_context
from tests.helpers import BAD_ANSWERS, submit_and_score


@pytest.fixture
def waiting(world, django_capture_on_commit_callbacks) -> Ticket:
    """A complaint given to the branch's agent, who asked the customer for a statement."""
    response = submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant), django_capture_on_commit_callbacks(execute=True):
        ticket = Ticket.objects.get(response=response)
        ticket_reassign(ticket=ticket, to=world.agent, reason="请跟进", by=world.manager)
        return ticket_transition(ticket=ticket, action="wait_customer", by=world.agent)


@pytest.fixture
def api(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {world.api_key_plaintext}")
    return client


def reply_url(ticket: Ticket) -> str:
    return f"/api/v1/tickets/{ticket.number}/customer-replies/"


def test_a_reply_through_the_api_resumes_the_clock_and_tells_the_assignee(
    api, world, waiting, django_capture_on_commit_callbacks
):
    assert waiting.sla_paused_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post(reply_url(waiting), {"text": "流水单已拍照发给客服"}, format="json")
    assert answer.status_code == 201
    assert answer.json()["status"] == TicketStatus.IN_PROGRESS
    with tenant_context(world.tenant):
        ticket = Ticket.objects.get(pk=waiting.pk)
        kinds = list(ticket.events.order_by("id").values_list("kind", "note"))
        told = list(Notification.objects.filter(recipient=world.agent).values_list("kind"))
    assert ticket.sla_paused_at is None and ticket.status == TicketStatus.IN_PROGRESS
    assert (TicketEvent.Kind.CUSTOMER_REPLY, "流水单已拍照发给客服") in kinds
    assert kinds[-1][0] == TicketEvent.Kind.SLA_RESUMED
    assert ("customer_reply",) in told


def test_a_reply_to_a_ticket_in_progress_is_recorded_without_a_status_change(
    world, waiting, django_capture_on_commit_callbacks
):
    with tenant_context(world.tenant):
        ticket_transition(ticket=waiting, action="resume", by=world.agent)
        with django_capture_on_commit_callbacks(execute=True):
            ticket = ticket_customer_reply(ticket=waiting, text="又补充了一句", by=world.agent)
        assert ticket.status == TicketStatus.IN_PROGRESS
        assert ticket.events.filter(kind=TicketEvent.Kind.CUSTOMER_REPLY).count() == 1
        # The agent relayed it themselves: nobody else to tell.
        assert not Notification.objects.filter(kind="customer_reply").exists()


@pytest.mark.parametrize("text", ["", "   ", "\x00", "长" * 5001])
def test_an_empty_or_huge_reply_is_refused_and_changes_nothing(api, world, waiting, text):
    answer = api.post(reply_url(waiting), {"text": text}, format="json")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] in {"invalid", "parse_error"}  # NUL: refused as read
    with tenant_context(world.tenant):
        assert Ticket.objects.get(pk=waiting.pk).status == TicketStatus.WAITING_CUSTOMER
        assert not waiting.events.filter(kind=TicketEvent.Kind.CUSTOMER_REPLY).exists()


def test_a_closed_ticket_refuses_a_reply(world, waiting):
    with tenant_context(world.tenant):
        waiting.root_cause = world.root_cause
        waiting.save(update_fields=["root_cause"])
        ticket_transition(ticket=waiting, action="resolve", by=world.agent)
        ticket_transition(ticket=waiting, action="close", by=world.agent)
        with pytest.raises(TicketTransitionError, match="已关闭"):
            ticket_customer_reply(ticket=waiting, text="还没解决", by=world.agent)


def test_a_viewer_cannot_record_a_reply(world, waiting):
    from django.core.exceptions import PermissionDenied

    with tenant_context(world.tenant), pytest.raises(PermissionDenied):
        ticket_customer_reply(ticket=waiting, text="客户来电", by=world.viewer)


def test_another_tenants_key_cannot_reply_to_the_ticket(world, other_world, waiting):
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {other_world.api_key_plaintext}")
    answer = other.post(reply_url(waiting), {"text": "冒充的回复"}, format="json")
    assert answer.status_code == 404
    with tenant_context(world.tenant):
        assert not waiting.events.filter(kind=TicketEvent.Kind.CUSTOMER_REPLY).exists()
