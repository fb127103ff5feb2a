"""The first-response escalation (docs/tickets.md, Escalation up the org tree): a ticket nobody
has responded to by its first-response due time reaches its unit's manager once, as an
escalation event and a notification, through the same sweep as the resolution chain, and the
chain's steps do not tell that manager a second time. Every test fixes the clock."""

from datetime import timedelta

import time_machine
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from alerts.models import Ticket, TicketEvent
from alerts.services import ticket_note_add
from notifications.models import Notification
from organizations.models import OrgUnit, Tenant
from organizations.tenancy import tenant_context
from tests import test_ticket_escalation
from tests.factories import PASSWORD
from tests.test_ticket_escalation import STEP_1, STEP_2, escalations, sweep
from tests.test_ticket_sla import FRIDAY_EVENING, at, open_ticket

bosses = test_ticket_escalation.bosses  # the managers of the branch, the region, head office

# The Friday-evening ticket (high: first response within 2 working hours) is due a first
# response on Monday at 10:00 (an hour on Friday evening, an hour on Monday morning).
FIRST_RESPONSE_DUE = at("2026-06-15 10:00")


def notified(world, user) -> list[int]:
    with tenant_context(world.tenant):
        return list(
            Notification.objects.filter(recipient=user, kind="escalated").values_list(
                "ticket__number", flat=True
            )
        )


def test_an_unanswered_ticket_reaches_its_units_manager_once_when_the_first_response_is_due(
    world, bosses, django_capture_on_commit_callbacks
):
    ticket = open_ticket(world, FRIDAY_EVENING)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(FIRST_RESPONSE_DUE - timedelta(minutes=1)) == 0
        assert sweep(FIRST_RESPONSE_DUE) == 1
        assert sweep(FIRST_RESPONSE_DUE + timedelta(minutes=1)) == 0
        assert sweep(at("2026-06-16 10:00")) == 0  # once per ticket, however long it waits
    [(person, note)] = escalations(world, ticket)
    assert person == "boss-branch"
    assert "首次响应超时" in note and "浦东支行" in note
    assert notified(world, bosses["branch"]) == [ticket.number]
    with tenant_context(world.tenant):
        ticket.refresh_from_db()
    # The resolution chain has not moved: its level counts its own steps.
    assert ticket.escalation_level == 0
    assert ticket.first_response_escalated_at == FIRST_RESPONSE_DUE
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {world.api_key_plaintext}")
    shown = api.get(f"/api/v1/tickets/{ticket.number}/").json()
    assert parse_datetime(shown["first_response_escalated_at"]) == FIRST_RESPONSE_DUE


def test_the_resolution_chain_does_not_tell_the_same_manager_again(
    world, bosses, django_capture_on_commit_callbacks
):
    ticket = open_ticket(world, FRIDAY_EVENING)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(FIRST_RESPONSE_DUE) == 1
        assert sweep(STEP_1) == 1  # 80 %: the unit's manager, already told
        assert sweep(STEP_2) == 1  # 100 %: the parent unit's
    steps = escalations(world, ticket)
    assert [person for person, _note in steps] == ["boss-branch", None, "boss-region"]
    assert "已在首次响应超时时收到通知" in steps[1][1]
    assert notified(world, bosses["branch"]) == [ticket.number]
    assert notified(world, bosses["region"]) == [ticket.number]
    with tenant_context(world.tenant):
        assert Ticket.objects.get(pk=ticket.pk).escalation_level == 2


def test_a_manager_the_chain_told_first_is_not_told_again_at_the_first_response_due_time(
    world, bosses, django_capture_on_commit_callbacks
):
    """A first-response target as long as the resolution's: the chain's 80 % step comes first."""
    with tenant_context(world.tenant):
        tenant = Tenant.objects.get(pk=world.tenant.pk)
        tenant.settings = {**tenant.settings, "sla": {"first_response": {"high": 24 * 60}}}
        tenant.save()
    ticket = open_ticket(world, FRIDAY_EVENING)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(STEP_1) == 1  # the chain's first step: the unit's manager
        assert sweep(STEP_2) == 1  # the first response is due: that manager knows already
        assert sweep(STEP_2 + timedelta(minutes=1)) == 1  # the chain's 100 % step, a run later
    steps = escalations(world, ticket)
    assert [person for person, _note in steps] == ["boss-branch", None, "boss-region"]
    assert "首次响应超时" in steps[1][1] and "已收到本工单的升级通知" in steps[1][1]
    assert notified(world, bosses["branch"]) == [ticket.number]


def test_a_ticket_answered_in_time_does_not_escalate_at_its_first_response_due_time(world, bosses):
    ticket = open_ticket(world, FRIDAY_EVENING)
    with time_machine.travel(at("2026-06-15 09:59"), tick=False), tenant_context(world.tenant):
        ticket_note_add(ticket=ticket, by=world.agent, note="已致电客户")
    assert sweep(FIRST_RESPONSE_DUE) == 0
    assert sweep(at("2026-06-16 10:00")) == 0
    assert escalations(world, ticket) == []


def test_an_assignee_who_manages_the_unit_is_passed_for_the_manager_above(world, bosses):
    ticket = open_ticket(world, FRIDAY_EVENING)
    with tenant_context(world.tenant):
        Ticket.objects.filter(pk=ticket.pk).update(assignee=bosses["branch"])
    assert sweep(FIRST_RESPONSE_DUE) == 1
    assert escalations(world, ticket)[0][0] == "boss-region"


def test_a_unit_without_a_manager_records_that_nobody_was_told(world):
    ticket = open_ticket(world, FRIDAY_EVENING)
    with tenant_context(world.tenant):
        OrgUnit.objects.update(manager=None)
    assert sweep(FIRST_RESPONSE_DUE) == 1
    [(person, note)] = escalations(world, ticket)
    assert person is None and "无可通知的负责人" in note


def test_a_tenant_without_a_chain_does_not_escalate_the_first_response(world, bosses):
    with tenant_context(world.tenant):
        tenant = Tenant.objects.get(pk=world.tenant.pk)
        tenant.settings = {**tenant.settings, "sla": {"escalation": []}}
        tenant.save()
    ticket = open_ticket(world, FRIDAY_EVENING)
    assert sweep(at("2026-06-16 10:00")) == 0
    assert escalations(world, ticket) == []


def test_each_tenants_unanswered_tickets_reach_only_its_own_managers(world, other_world, bosses):
    ours, other = open_ticket(world, FRIDAY_EVENING), open_ticket(other_world, FRIDAY_EVENING)
    assert sweep(FIRST_RESPONSE_DUE) == 2
    assert escalations(world, ours)[0][0] == "boss-branch"
    with tenant_context(other_world.tenant):
        assert TicketEvent.objects.get(ticket=other, kind="escalated").to_user_id is None
        assert not Notification.objects.exists()


def test_the_queues_escalated_filter_lists_an_unanswered_ticket_escalated(client, world, bosses):
    unanswered = open_ticket(world, FRIDAY_EVENING)
    calm = open_ticket(world, FRIDAY_EVENING + timedelta(days=3))  # due a response later
    assert sweep(FIRST_RESPONSE_DUE) == 1
    assert client.login(username=world.manager.username, password=PASSWORD)
    queue = reverse("ticket_queue", args=[world.tenant.slug])
    with time_machine.travel(FIRST_RESPONSE_DUE, tick=False):
        only = client.get(queue, {"escalated": "1"}).content.decode()
    assert f'data-ticket="{unanswered.number}"' in only
    assert f'data-ticket="{calm.number}"' not in only
    assert "首次响应超时已升级" in only
