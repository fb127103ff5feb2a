"""Automatic assignment of a unit's new tickets among its on-duty agents: in turn, or to the
one with the fewest open tickets; left for claiming by default, or when nobody is on duty."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from alerts.models import Ticket, TicketEvent
from organizations.members import membership_on_duty_set
from organizations.models import Membership, Role, TicketAssignment
from organizations.org_units import OrgUnitError, org_unit_assignment_set
from organizations.services import membership_create
from organizations.tenancy import tenant_context
from tests.factories import PASSWORD, UserFactory, member
from tests.helpers import BAD_ANSWERS, submit_and_score

User = get_user_model()


@pytest.fixture
def owner(world):
    return User.objects.get(username=f"{world.tenant.slug}-owner")


@pytest.fixture
def second_agent(world):
    agent = UserFactory(username=f"{world.tenant.slug}-agent-b")
    with tenant_context(world.tenant):
        membership_create(user=agent, role=Role.AGENT, org_unit=world.branch)
    return agent


def assign_by(world, owner, mode: str) -> None:
    with tenant_context(world.tenant):
        org_unit_assignment_set(unit=world.branch, mode=mode, by=owner)


def new_tickets(world, count: int) -> list[Ticket]:
    responses = [submit_and_score(world, BAD_ANSWERS) for _ in range(count)]
    with tenant_context(world.tenant):
        return [Ticket.objects.get(response=response) for response in responses]


def test_tickets_wait_for_claiming_by_default(world, second_agent):
    assert [t.assignee_id for t in new_tickets(world, 2)] == [None, None]


def test_round_robin_gives_the_branchs_agents_turns(world, owner, second_agent):
    assign_by(world, owner, TicketAssignment.ROUND_ROBIN)
    first, second = sorted([world.agent.pk, second_agent.pk])
    assert [t.assignee_id for t in new_tickets(world, 4)] == [first, second, first, second]
    with tenant_context(world.tenant):
        assert TicketEvent.objects.filter(kind=TicketEvent.Kind.ASSIGNED).count() == 4


def test_least_loaded_gives_the_agent_with_fewer_open_tickets(world, owner, second_agent):
    (busy,) = new_tickets(world, 1)
    with tenant_context(world.tenant):
        Ticket.objects.filter(pk=busy.pk).update(assignee=world.agent)
    assign_by(world, owner, TicketAssignment.LEAST_LOADED)
    assigned = [t.assignee_id for t in new_tickets(world, 3)]
    assert assigned.count(second_agent.pk) == 2 and assigned.count(world.agent.pk) == 1
    assert assigned[0] == second_agent.pk


def test_an_agent_off_duty_is_passed_over_and_with_nobody_on_duty_tickets_wait(
    world, owner, second_agent
):
    assign_by(world, owner, TicketAssignment.ROUND_ROBIN)
    with tenant_context(world.tenant):
        membership_on_duty_set(
            membership=member(world.agent, world.tenant), on_duty=False, by=world.agent
        )
    assert {t.assignee_id for t in new_tickets(world, 2)} == {second_agent.pk}
    with tenant_context(world.tenant):
        membership_on_duty_set(
            membership=member(second_agent, world.tenant), on_duty=False, by=owner
        )
    assert [t.assignee_id for t in new_tickets(world, 1)] == [None]


def test_only_owners_and_admins_set_a_units_mode_and_only_a_member_or_they_set_duty(
    world, owner, second_agent
):
    with tenant_context(world.tenant):
        for who in (world.manager, world.agent, world.viewer):
            with pytest.raises(PermissionDenied):
                org_unit_assignment_set(unit=world.branch, mode="round_robin", by=who)
        with pytest.raises(OrgUnitError):
            org_unit_assignment_set(unit=world.branch, mode="lottery", by=owner)
        with pytest.raises(PermissionDenied):
            membership_on_duty_set(
                membership=member(second_agent, world.tenant), on_duty=False, by=world.agent
            )
        assert Membership.objects.get(user=second_agent).on_duty


def test_the_unit_page_sets_the_mode_and_the_workbench_the_duty(client, world, owner):
    client.login(username=owner.username, password=PASSWORD)
    unit_page = reverse("org_unit_edit", args=[world.tenant.slug, world.branch.pk])
    reply = client.post(unit_page, {"action": "assignment", "ticket_assignment": "least_loaded"})
    assert reply.status_code == 302
    with tenant_context(world.tenant):
        world.branch.refresh_from_db()
    assert world.branch.ticket_assignment == "least_loaded"

    client.login(username=world.agent.username, password=PASSWORD)
    queue = reverse("ticket_queue", args=[world.tenant.slug])
    assert "离岗" in client.get(queue).content.decode()
    assert client.post(queue, {"on_duty": "0"}).status_code == 302
    assert not member(world.agent, world.tenant).on_duty
    client.login(username=world.viewer.username, password=PASSWORD)
    refused = client.post(unit_page, {"action": "assignment", "ticket_assignment": "claim"})
    assert refused.status_code == 403


def test_risk_and_vip_tickets_go_to_the_senior_queue_once_one_is_set(client, world, owner):
    from customers.models import Customer
    from organizations.org_units import senior_queue_set

    threat = {**BAD_ANSWERS, "text_1": "再不处理我就投诉到银保监会"}
    (before,) = [submit_and_score(world, threat)]
    client.login(username=owner.username, password=PASSWORD)
    unit_page = reverse("org_unit_edit", args=[world.tenant.slug, world.region.pk])
    assert client.post(unit_page, {"action": "senior_queue"}).status_code == 302
    with tenant_context(world.tenant):
        vip = Customer.objects.create(external_id="C-VIP", tags=["VIP"])
        plain = Customer.objects.create(external_id="C-1", tags=["普通"])
    risky = submit_and_score(world, threat)
    of_vip = submit_and_score(world, BAD_ANSWERS, external_customer_id=vip.external_id)
    of_plain = submit_and_score(world, BAD_ANSWERS, external_customer_id=plain.external_id)
    with tenant_context(world.tenant):
        unit_of = {
            response.pk: Ticket.objects.get(response=response).org_unit_id
            for response in (before, risky, of_vip, of_plain)
        }
        assert unit_of == {
            before.pk: world.branch.pk,  # opened before the senior queue was set
            risky.pk: world.region.pk,
            of_vip.pk: world.region.pk,
            of_plain.pk: world.branch.pk,
        }
        senior_queue_set(unit=None, by=owner)
    after = submit_and_score(world, threat)
    with tenant_context(world.tenant):
        assert Ticket.objects.get(response=after).org_unit_id == world.branch.pk
