"""Customer recovery on a ticket (issue 11, part 6): the agent logs contacts with their
outcome and recovery actions with their cost, each in the ticket's history; at closing the
customer can be sent the tenant's follow-up survey, once, after commit; the recovery rate is
the share of detractor tickets whose follow-up answer is passive or promoter."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from alerts import recovery
from alerts.models import Ticket, TicketContact, TicketEvent, TicketRecovery
from alerts.services import ticket_transition
from alerts.ticket_analytics import recovery_rate, ticket_analytics
from customers.models import ContactPolicy
from customers.services import customer_upsert
from organizations.messaging import backend_for
from organizations.models import AuditEvent, OutboundMessage
from organizations.tenancy import tenant_context
from surveys import distribution
from surveys.models import Invitation
from tests.factories import PASSWORD
from tests.helpers import BAD_ANSWERS, GOOD_ANSWERS, submit_and_score

PASSIVE_ANSWERS = {"nps_1": 8, "csat_1": 4, "text_1": "还可以"}


def open_ticket(world, *, customer: str = "") -> Ticket:
    """A detractor's ticket in the world's branch; of a known customer (with a mobile) if named."""
    if customer:
        with tenant_context(world.tenant):
            customer_upsert(external_id=customer, name="王先生", mobile="13812345678")
    response = submit_and_score(world, BAD_ANSWERS, external_customer_id=customer)
    with tenant_context(world.tenant):
        return Ticket.objects.select_related("response").get(response=response)


@pytest.fixture
def ticket(world) -> Ticket:
    return open_ticket(world)


@pytest.fixture
def follow_up(world):
    """The tenant sends its survey by SMS at closing; the contact policy lets it through."""
    with tenant_context(world.tenant):
        ContactPolicy.objects.create(
            quiet_hours_start=0, quiet_hours_end=0, min_days_between_invitations=0
        )
        recovery.follow_up_settings_update(
            tenant=world.tenant, survey=world.survey, channel="sms", by=world.tenant_owner
        )
        world.tenant.refresh_from_db()


@pytest.fixture(autouse=True)
def owner_of(world):
    from django.contrib.auth import get_user_model

    world.tenant_owner = get_user_model().objects.get(username=f"{world.tenant.slug}-owner")


def history(world, ticket) -> list[str]:
    with tenant_context(world.tenant):
        return list(ticket.events.order_by("at", "id").values_list("kind", flat=True))


def resolve(world, ticket, *, by=None):
    by = by or world.agent
    with tenant_context(world.tenant):
        ticket_transition(ticket=ticket, action="claim", by=by)
        ticket_transition(ticket=ticket, action="resolve", by=by, root_cause=world.root_cause)


# --- contacts and recovery actions -------------------------------------------------------------


def test_the_agent_logs_a_call_and_its_outcome_on_the_ticket_page(client, world, ticket):
    client.login(username=world.agent.username, password=PASSWORD)
    page = reverse("ticket_detail", args=[world.tenant.slug, ticket.number])
    reply = client.post(
        page, {"action": "contact", "channel": "call", "outcome": "accepted", "note": "已致电"}
    )
    assert reply.status_code == 302
    with tenant_context(world.tenant):
        contact = TicketContact.objects.get(ticket=ticket)
        assert (contact.channel, contact.outcome, contact.by) == ("call", "accepted", world.agent)
        assert contact.event.kind == TicketEvent.Kind.CONTACT
        assert "客户接受处理方案" in contact.event.note and "已致电" in contact.event.note
        ticket.refresh_from_db()
        assert ticket.first_responded_at is not None  # calling the customer is responding
    assert "客户接受处理方案" in client.get(page).content.decode()


def test_the_agent_records_a_fee_waiver_with_its_cost_in_yuan(world, ticket):
    with tenant_context(world.tenant):
        waived = recovery.ticket_recovery_record(
            ticket=ticket, kind="fee_waiver", cost="50.5", note="免除年费", by=world.agent
        )
        assert waived.cost == Decimal("50.50") and waived.currency == "CNY"
        assert waived.event.kind == TicketEvent.Kind.RECOVERY
        assert "费用减免" in waived.event.note and "50.50" in waived.event.note
        assert AuditEvent.objects.filter(action="ticket.recovery").count() == 1
        recovery.ticket_recovery_record(ticket=ticket, kind="apology", cost="", by=world.agent)
        assert recovery.recovery_cost("1.100") == Decimal("1.10")
        assert list(TicketRecovery.objects.values_list("kind", "cost")) == [
            ("fee_waiver", Decimal("50.50")),
            ("apology", Decimal("0.00")),
        ]


@pytest.mark.parametrize(
    "cost",
    ["-1", "1" * 20, "1" * 9, "nan", "NaN", "sNaN", "inf", "-0.01", "1.234", "五十", "1e3x"],
)
def test_a_bad_cost_is_refused_and_changes_nothing(world, ticket, cost):
    before = history(world, ticket)
    with tenant_context(world.tenant), pytest.raises(ValidationError, match="补救成本"):
        recovery.ticket_recovery_record(ticket=ticket, kind="gift", cost=cost, by=world.agent)
    with tenant_context(world.tenant):
        assert not TicketRecovery.objects.exists()
    assert history(world, ticket) == before


def test_an_outcome_or_kind_not_in_the_list_is_refused_and_changes_nothing(world, ticket):
    before = history(world, ticket)
    with tenant_context(world.tenant):
        with pytest.raises(ValidationError, match="联系结果应为"):
            recovery.ticket_contact_log(
                ticket=ticket, channel="call", outcome="happy", by=world.agent
            )
        with pytest.raises(ValidationError, match="联系方式应为"):
            recovery.ticket_contact_log(
                ticket=ticket, channel="pigeon", outcome="reached", by=world.agent
            )
        with pytest.raises(ValidationError, match="补救措施应为"):
            recovery.ticket_recovery_record(ticket=ticket, kind="cash", cost="1", by=world.agent)
        assert not TicketContact.objects.exists() and not TicketRecovery.objects.exists()
    assert history(world, ticket) == before


def test_a_bad_cost_on_the_page_says_why_and_changes_nothing(client, world, ticket):
    client.login(username=world.agent.username, password=PASSWORD)
    page = reverse("ticket_detail", args=[world.tenant.slug, ticket.number])
    reply = client.post(page, {"action": "recovery", "kind": "gift", "cost": "-20"})
    assert reply.status_code == 200 and "补救成本应为" in reply.content.decode()
    with tenant_context(world.tenant):
        assert not TicketRecovery.objects.exists()


def test_viewers_and_agents_of_other_branches_cannot_record_recovery(client, world, ticket):
    with tenant_context(world.tenant):
        with pytest.raises(PermissionDenied):
            recovery.ticket_contact_log(
                ticket=ticket, channel="call", outcome="reached", by=world.viewer
            )
        with pytest.raises(ValidationError, match="不在您的数据范围内"):
            recovery.ticket_recovery_record(
                ticket=ticket, kind="gift", cost="10", by=world.other_agent
            )
        assert not TicketRecovery.objects.exists() and not TicketContact.objects.exists()
    client.login(username=world.viewer.username, password=PASSWORD)
    page = reverse("ticket_detail", args=[world.tenant.slug, ticket.number])
    reply = client.post(page, {"action": "contact", "channel": "call", "outcome": "reached"})
    assert reply.status_code == 403


# --- the follow-up survey ----------------------------------------------------------------------


def test_only_owners_and_admins_choose_the_follow_up_survey(client, world):
    url = reverse("follow_up_settings", args=[world.tenant.slug])
    client.login(username=world.manager.username, password=PASSWORD)
    assert client.get(url).status_code == 403
    client.login(username=world.tenant_owner.username, password=PASSWORD)
    reply = client.post(url, {"survey": world.survey.pk, "channel": "email"})
    assert reply.status_code == 302
    world.tenant.refresh_from_db()
    assert recovery.follow_up_setting(world.tenant) == (world.survey.pk, "email")


def test_a_follow_up_survey_of_another_tenant_is_refused(world, other_world):
    with tenant_context(world.tenant), pytest.raises(ValidationError, match="已发布的问卷"):
        recovery.follow_up_settings_update(
            tenant=world.tenant, survey=other_world.survey, channel="sms", by=world.tenant_owner
        )


def test_closing_without_a_customer_to_follow_up_is_refused_and_changes_nothing(
    world, ticket, follow_up
):
    resolve(world, ticket)
    with tenant_context(world.tenant):
        with pytest.raises(ValidationError, match="没有关联客户"):
            ticket_transition(ticket=ticket, action="close", by=world.agent, follow_up=True)
        ticket.refresh_from_db()
        assert ticket.status == "resolved" and not Invitation.objects.exists()


def test_the_close_form_offers_the_follow_up_only_when_it_can_be_sent(client, world, follow_up):
    ticket = open_ticket(world, customer="C1")
    resolve(world, ticket)
    client.login(username=world.agent.username, password=PASSWORD)
    page = reverse("ticket_detail", args=[world.tenant.slug, ticket.number])
    assert 'name="follow_up"' in client.get(page).content.decode()
    reply = client.post(page, {"action": "close", "follow_up": "on"})
    assert reply.status_code == 302
    with tenant_context(world.tenant):
        ticket.refresh_from_db()
        assert ticket.status == "closed" and ticket.follow_up_invitation is not None
    assert history(world, ticket)[-1] == TicketEvent.Kind.FOLLOW_UP


class Provider:
    """The SMS provider's stand-in: counts what it was given."""

    sent: list[str] = []

    def send(self, message) -> None:
        Provider.sent.append(message.recipient)


@pytest.mark.django_db(transaction=True)
def test_the_follow_up_survey_is_sent_once_after_commit(
    world, follow_up, settings, monkeypatch, eager_tasks
):
    settings.CEM_MESSAGE_BACKENDS = {
        **settings.CEM_MESSAGE_BACKENDS,
        "sms": "tests.test_ticket_recovery.Provider",
    }
    backend_for.cache_clear()
    Provider.sent = []
    enqueued: list[int] = []
    # The test runs the send itself: a Celery worker other tests left running must not.
    monkeypatch.setattr(
        distribution, "invitation_enqueue", lambda *, invitation_id: enqueued.append(invitation_id)
    )
    ticket = open_ticket(world, customer="C1")
    resolve(world, ticket)
    with tenant_context(world.tenant):
        with transaction.atomic():
            ticket_transition(ticket=ticket, action="close", by=world.agent, follow_up=True)
            assert enqueued == []  # nothing leaves before the commit
        invitation = Invitation.objects.get()
    assert enqueued == [invitation.pk]
    for _run in range(2):  # the task, and a retry of it
        distribution.invitation_send(invitation_id=invitation.pk)
    assert Provider.sent == ["13812345678"]
    with tenant_context(world.tenant):
        assert list(OutboundMessage.objects.values_list("purpose", "status")) == [
            (f"invitation:{invitation.pk}", "sent")
        ]
        # Reopened and closed again, the ticket does not send a second follow-up.
        ticket_transition(ticket=ticket, action="reopen", by=world.agent)
        resolve_again = ticket_transition(ticket=ticket, action="claim", by=world.agent)
        ticket_transition(
            ticket=resolve_again, action="resolve", by=world.agent, root_cause=world.root_cause
        )
        with pytest.raises(ValidationError, match="已发送过回访问卷"):
            ticket_transition(ticket=ticket, action="close", by=world.agent, follow_up=True)
        ticket_transition(ticket=ticket, action="close", by=world.agent)
        assert Invitation.objects.count() == 1
    assert Provider.sent == ["13812345678"] and enqueued == [invitation.pk]
    backend_for.cache_clear()


# --- the recovery rate -------------------------------------------------------------------------


def closed_with_follow_up(world, customer: str, answer: dict | None) -> Ticket:
    """A detractor's ticket, closed with a follow-up survey the customer answered (or not)."""
    ticket = open_ticket(world, customer=customer)
    resolve(world, ticket)
    with tenant_context(world.tenant):
        ticket_transition(ticket=ticket, action="close", by=world.agent, follow_up=True)
        ticket.refresh_from_db()
        link = ticket.follow_up_invitation.link
    if answer is not None:
        submit_and_score(world, answer, link=link)
    return ticket


def test_the_recovery_rate_counts_detractors_whose_follow_up_is_passive_or_promoter(
    world, follow_up, midday
):
    closed_with_follow_up(world, "C1", GOOD_ANSWERS)  # promoter: recovered
    closed_with_follow_up(world, "C2", PASSIVE_ANSWERS)  # passive: recovered
    closed_with_follow_up(world, "C3", BAD_ANSWERS)  # still a detractor
    closed_with_follow_up(world, "C4", None)  # no answer: not counted
    open_ticket(world)  # no follow-up: not counted
    now = timezone.now()
    with tenant_context(world.tenant):
        rate = recovery_rate(
            scope_path="", since=now - timedelta(days=1), until=now + timedelta(days=1)
        )
        assert rate == pytest.approx(66.7)
        figures = ticket_analytics(
            tenant=world.tenant,
            root=None,
            scope_path="",
            start=timezone.localdate() - timedelta(days=1),
            end=timezone.localdate(),
        )
    assert (figures.total.detractors_answered, figures.total.detractors_recovered) == (3, 2)
    branch = dict((unit.code if unit else "", f) for unit, f in figures.by_unit)["EAST"]
    assert branch.recovery_rate == pytest.approx(66.7)
