"""In-app notifications: an assignment, a reassignment or an escalation tells the member it
concerns, after the transaction commits and once; the notification centre lists them, opens
their ticket and marks them read; the header shows the unread count."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse

from alerts.models import Ticket, TicketEvent
from alerts.services import ticket_reassign
from notifications.models import Notification
from notifications.services import notifications_for_ticket_events
from organizations.models import TicketAssignment
from organizations.org_units import org_unit_assignment_set
from organizations.tenancy import tenant_context
from tests.factories import PASSWORD
from tests.helpers import BAD_ANSWERS, submit_and_score

User = get_user_model()


@pytest.fixture
def owner(world):
    return User.objects.get(username=f"{world.tenant.slug}-owner")


@pytest.fixture
def ticket(world) -> Ticket:
    response = submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant):
        return Ticket.objects.get(response=response)


def notifications_of(world, user) -> list[tuple[str, int]]:
    with tenant_context(world.tenant):
        return [
            (n.kind, n.ticket.number)
            for n in Notification.objects.filter(recipient=user).select_related("ticket")
        ]


def reassign(world, ticket, *, to, by) -> None:
    with tenant_context(world.tenant):
        ticket_reassign(ticket=ticket, to=to, reason="就近处理", by=by)


def test_automatic_assignment_tells_the_agent_after_the_commit(
    world, owner, django_capture_on_commit_callbacks
):
    with tenant_context(world.tenant):
        org_unit_assignment_set(unit=world.branch, mode=TicketAssignment.ROUND_ROBIN, by=owner)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = submit_and_score(world, BAD_ANSWERS)
    assert notifications_of(world, world.agent) == []  # nothing before the commit
    for callback in callbacks:
        callback()
    with tenant_context(world.tenant):
        number = Ticket.objects.get(response=response).number
    assert notifications_of(world, world.agent) == [("assigned", number)]


def test_a_reassignment_tells_the_new_assignee_once(
    world, ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reassign(world, ticket, to=world.agent, by=world.manager)
    assert notifications_of(world, world.agent) == [("reassigned", ticket.number)]
    assert notifications_of(world, world.manager) == []
    with tenant_context(world.tenant):
        event_id = TicketEvent.objects.get(kind=TicketEvent.Kind.REASSIGNED).pk
    assert notifications_for_ticket_events(event_ids=[event_id]) == []  # announced again
    assert len(notifications_of(world, world.agent)) == 1


def test_taking_a_ticket_over_oneself_tells_nobody(
    world, ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reassign(world, ticket, to=world.manager, by=world.manager)
    with tenant_context(world.tenant):
        assert not Notification.objects.exists()


def test_a_rolled_back_reassignment_tells_nobody(world, ticket, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ValueError),
        tenant_context(world.tenant),
        transaction.atomic(),
    ):
        ticket_reassign(ticket=ticket, to=world.agent, reason="就近处理", by=world.manager)
        raise ValueError("the caller's transaction fails afterwards")
    assert callbacks == []
    assert notifications_of(world, world.agent) == []


def test_an_escalation_without_a_reached_member_tells_nobody(world, ticket):
    with tenant_context(world.tenant):
        event = TicketEvent.objects.create(ticket=ticket, kind=TicketEvent.Kind.ESCALATED)
    assert notifications_for_ticket_events(event_ids=[event.pk]) == []


def test_an_escalation_tells_the_member_it_reached(world, ticket):
    with tenant_context(world.tenant):
        event = TicketEvent.objects.create(
            ticket=ticket, kind=TicketEvent.Kind.ESCALATED, to_user=world.manager
        )
    [told] = notifications_for_ticket_events(event_ids=[event.pk])
    assert told.recipient_id == world.manager.pk and told.kind == "escalated"


@pytest.fixture
def agent_told(client, world, ticket, django_capture_on_commit_callbacks) -> Ticket:
    """The agent, signed in, has been given `ticket` by the manager."""
    with django_capture_on_commit_callbacks(execute=True):
        reassign(world, ticket, to=world.agent, by=world.manager)
    client.login(username=world.agent.username, password=PASSWORD)
    return ticket


def centre(world) -> str:
    return reverse("notification_centre", args=[world.tenant.slug])


def only_notification(world) -> Notification:
    with tenant_context(world.tenant):
        return Notification.objects.get()


def test_the_header_shows_the_unread_count_and_the_centre_lists_it(client, world, agent_told):
    queue = client.get(reverse("ticket_queue", args=[world.tenant.slug])).content.decode()
    assert "1 条未读" in queue
    page = client.get(centre(world)).content.decode()
    assert "工单改派给您" in page and f"工单 #{agent_told.number}" in page


def test_opening_a_notification_marks_it_read_and_goes_to_the_ticket(client, world, agent_told):
    notification = only_notification(world)
    reply = client.post(
        reverse("notification_read", args=[world.tenant.slug, notification.pk]), {"open": "1"}
    )
    assert reply.url == reverse("ticket_detail", args=[world.tenant.slug, agent_told.number])
    assert only_notification(world).read_at is not None
    assert "条未读" not in client.get(centre(world)).content.decode()


def test_marking_all_read(client, world, agent_told):
    assert client.post(centre(world), {"action": "read_all"}).status_code == 302
    assert only_notification(world).read_at is not None


def test_a_member_cannot_mark_anothers_notification(client, world, agent_told):
    notification = only_notification(world)
    client.login(username=world.other_agent.username, password=PASSWORD)
    url = reverse("notification_read", args=[world.tenant.slug, notification.pk])
    assert client.post(url).status_code == 404
    assert only_notification(world).read_at is None
    assert "工单改派给您" not in client.get(centre(world)).content.decode()
