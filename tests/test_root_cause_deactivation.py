"""Root causes tickets point at are deactivated, not deleted (issue 11): a cause in use cannot be
deleted; a deactivated one is no longer offered by the ticket form nor the partner API, is still
shown on the tickets that recorded it, and can be reactivated; only managers do it, each in
their own tenant."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from alerts.models import RootCause, Ticket
from alerts.services import TicketTransitionError, ticket_transition
from organizations.models import AuditEvent
from organizations.tenancy import tenant_context
from tests.factories import PASSWORD
from tests.helpers import BAD_ANSWERS, submit_and_score


def open_ticket(world) -> Ticket:
    response = submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant):
        return Ticket.objects.get(response=response)


def resolved_ticket(world, cause: RootCause) -> Ticket:
    ticket = open_ticket(world)
    with tenant_context(world.tenant):
        ticket_transition(ticket=ticket, action="claim", by=world.agent)
        return ticket_transition(ticket=ticket, action="resolve", by=world.agent, root_cause=cause)


def set_active(client, world, cause: RootCause, is_active: bool):
    url = reverse("root_cause_set_active", args=[world.tenant.slug, cause.pk])
    return client.post(url, {"is_active": "1" if is_active else "0"})


def cause_state(world, cause: RootCause) -> bool:
    with tenant_context(world.tenant):
        return RootCause.objects.get(pk=cause.pk).is_active


def offered(world, page) -> list[RootCause]:
    """The causes the ticket page's form offers."""
    with tenant_context(world.tenant):
        return list(page.context["form"].fields["root_cause"].queryset)


@pytest.fixture
def manager(client, world):
    assert client.login(username=world.manager.username, password=PASSWORD)
    return client


def test_a_cause_in_use_cannot_be_deleted_and_the_page_offers_to_deactivate_it(manager, world):
    ticket = resolved_ticket(world, world.root_cause)
    delete = reverse("root_cause_delete", args=[world.tenant.slug, world.root_cause.pk])
    page = manager.get(manager.post(delete)["Location"]).content.decode()
    assert "可以停用它" in page
    with tenant_context(world.tenant):
        assert RootCause.objects.filter(pk=world.root_cause.pk).exists()
    assert f'data-cause="{world.root_cause.pk}" data-active="1"' in page
    assert ticket.root_cause_id == world.root_cause.pk


def test_a_deactivated_cause_is_not_offered_but_stays_on_old_tickets(manager, world):
    ticket = resolved_ticket(world, world.root_cause)
    reply = set_active(manager, world, world.root_cause, False)
    assert reply.status_code == 302 and cause_state(world, world.root_cause) is False
    listing = manager.get(reverse("root_causes", args=[world.tenant.slug])).content.decode()
    assert f'data-cause="{world.root_cause.pk}" data-active="0"' in listing
    # The ticket that recorded it still shows it, and its own form keeps it.
    old = manager.get(reverse("ticket_detail", args=[world.tenant.slug, ticket.number]))
    assert world.root_cause.name in old.content.decode() and "已停用" in old.content.decode()
    assert world.root_cause in offered(world, old)
    # A new ticket's form does not offer it, nor may the service be handed it.
    fresh = open_ticket(world)
    new = manager.get(reverse("ticket_detail", args=[world.tenant.slug, fresh.number]))
    assert world.root_cause not in offered(world, new) and offered(world, new)
    with tenant_context(world.tenant):
        ticket_transition(ticket=fresh, action="claim", by=world.agent)
        with pytest.raises(TicketTransitionError, match="已停用"):
            ticket_transition(
                ticket=fresh, action="resolve", by=world.agent, root_cause=world.root_cause
            )
        assert Ticket.objects.get(pk=fresh.pk).status == "in_progress"
        actions = list(
            AuditEvent.objects.filter(action__startswith="root_cause.").values_list(
                "action", flat=True
            )
        )
    assert actions == ["root_cause.deactivate"]


def test_the_partner_api_offers_and_takes_active_causes_only(manager, world):
    set_active(manager, world, world.root_cause, False)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {world.api_key_plaintext}")
    names = [cause["name"] for cause in api.get("/api/v1/root-causes/").json()["results"]]
    assert names and world.root_cause.name not in names
    ticket = open_ticket(world)
    api.patch(f"/api/v1/tickets/{ticket.number}/", {"action": "claim"}, format="json")
    reply = api.patch(
        f"/api/v1/tickets/{ticket.number}/",
        {"action": "resolve", "root_cause": world.root_cause.name},
        format="json",
    )
    assert reply.status_code == 400
    assert "No active root cause" in str(reply.json())


def test_a_deactivated_cause_is_reactivated_and_offered_again(manager, world):
    set_active(manager, world, world.root_cause, False)
    assert set_active(manager, world, world.root_cause, True).status_code == 302
    assert cause_state(world, world.root_cause) is True
    fresh = open_ticket(world)
    page = manager.get(reverse("ticket_detail", args=[world.tenant.slug, fresh.number]))
    assert world.root_cause in offered(world, page)
    with tenant_context(world.tenant):
        assert AuditEvent.objects.filter(action="root_cause.reactivate").count() == 1


@pytest.mark.parametrize("who", ["agent", "viewer"])
def test_agents_and_viewers_cannot_deactivate_a_cause(client, world, who):
    assert client.login(username=getattr(world, who).username, password=PASSWORD)
    assert set_active(client, world, world.root_cause, False).status_code == 403
    assert cause_state(world, world.root_cause) is True


def test_another_tenants_manager_cannot_deactivate_our_cause(client, world, other_world):
    assert client.login(username=other_world.manager.username, password=PASSWORD)
    url = reverse("root_cause_set_active", args=[other_world.tenant.slug, world.root_cause.pk])
    assert client.post(url, {"is_active": "0"}).status_code == 404
    assert cause_state(world, world.root_cause) is True
