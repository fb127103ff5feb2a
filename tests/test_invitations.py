"""Touchpoint triggers and personal invitations: events in batches, deduplicated; conditions;
the contact policy (frequency, opt-out, quiet hours); sending, reminders and tracking."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import ContactPolicy, Customer
from customers.services import unsubscribe_token
from integrations.models import InboundEvent
from integrations.services import event_process
from organizations.models import OutboundMessage
from organizations.tenancy import system_context, tenant_context
from surveys import distribution
from surveys.models import Invitation
from tests.factories import PASSWORD
from tests.helpers import respondent_post


@pytest.fixture
def api(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {world.api_key_plaintext}")
    return client


@pytest.fixture
def trigger(world):
    with tenant_context(world.tenant):
        # Quiet hours off, so no test depends on the time of day it runs at.
        ContactPolicy.objects.create(quiet_hours_start=0, quiet_hours_end=0)
        return distribution.trigger_create(
            survey=world.survey,
            event_type="account.opened",
            touchpoint=world.touchpoint,
            channel="sms",
            delay_minutes=0,
            conditions={"all": [{"property": "amount", "op": "gte", "value": 1000}]},
            by=world.manager,
        )


def event(event_id="e1", customer="C1", amount=5000, **extra):
    return {
        "id": event_id,
        "type": "account.opened",
        "touchpoint": "counter",
        "org_unit": "SH-PD",
        "customer": {"id": customer, "name": "王先生", "mobile": "13812345678", "tags": ["vip"]},
        "properties": {"amount": amount},
        **extra,
    }


def ingest_and_process(api, world, *events):
    reply = api.post("/api/v1/events/", list(events), format="json")
    assert reply.status_code == 202, reply.content
    with tenant_context(world.tenant):
        for stored in InboundEvent.objects.filter(processed_at__isnull=True):
            event_process(event_pk=stored.pk)
    return reply.json()["results"]


def invitations(world):
    with tenant_context(world.tenant):
        return list(Invitation.objects.select_related("customer", "link").order_by("id"))


def test_events_are_accepted_in_batches_validated_one_by_one_and_deduplicated(api, world, trigger):
    results = ingest_and_process(
        api,
        world,
        event("e1"),
        event("e1"),
        {"id": "bad", "type": "Bad Type!"},
        event("e2", touchpoint="nowhere"),
    )
    assert [r["status"] for r in results] == ["accepted", "duplicate", "invalid", "invalid"]
    assert "type" in results[2]["errors"] and "customer" in results[2]["errors"]
    assert "touchpoint" in results[3]["errors"]
    again = api.post("/api/v1/events/", event("e1"), format="json").json()["results"]
    assert again[0]["status"] == "duplicate"
    assert api.post("/api/v1/events/", [], format="json").status_code == 400


def test_a_matching_event_invites_the_customer_with_a_personal_link(api, world, trigger):
    ingest_and_process(api, world, event())
    [invitation] = invitations(world)
    assert invitation.status == "scheduled" and invitation.org_unit_id == world.branch.pk
    distribution.invitation_send(invitation_id=invitation.pk)
    with tenant_context(world.tenant):
        invitation.refresh_from_db()
        message = OutboundMessage.objects.get()
        token = invitation.link.token
    assert invitation.status == "sent" and invitation.delivered_at is not None
    assert message.channel == "sms" and message.recipient == "13812345678"
    assert f"/s/{token}/" in message.body and "/u/" in message.body
    distribution.invitation_send(invitation_id=invitation.pk)  # a second run sends nothing
    with tenant_context(world.tenant):
        assert OutboundMessage.objects.count() == 1


@pytest.mark.parametrize(
    ("conditions", "matches"),
    [
        ({"all": [{"property": "amount", "op": "gte", "value": 1000}]}, True),
        ({"all": [{"property": "amount", "op": "gte", "value": 9000}]}, False),
        ({"all": [{"property": "amount", "op": "gte", "value": "1000"}]}, True),  # text as number
        ({"all": [{"customer": "tags", "op": "contains", "value": "vip"}]}, True),
        ({"not": {"customer": "tags", "op": "contains", "value": "vip"}}, False),
        (
            {
                "any": [
                    {"property": "channel", "op": "in", "value": ["app", "wechat"]},
                    {"customer": "tags", "op": "contains", "value": "vip"},
                ]
            },
            True,
        ),
        ({}, True),
    ],
)
def test_trigger_conditions_on_properties_and_tags(world, trigger, conditions, matches):
    trigger.conditions = conditions
    assert (
        distribution.trigger_matches(trigger, properties={"amount": 5000}, tags=["vip"]) is matches
    )


def test_a_second_event_within_the_frequency_window_is_suppressed_and_recorded(api, world, trigger):
    ingest_and_process(api, world, event("e1"))
    distribution.invitation_send(invitation_id=invitations(world)[0].pk)
    ingest_and_process(api, world, event("e2"))
    second = invitations(world)[1]
    assert second.status == "suppressed" and second.suppressed_reason == "frequency"
    assert second.link is None


def test_an_unsubscribed_customer_is_never_invited(client, api, world, trigger):
    ingest_and_process(api, world, event("e1"))
    customer = invitations(world)[0].customer
    page = client.get(reverse("unsubscribe", args=[unsubscribe_token(customer)]))
    assert "确认" in page.content.decode()
    with tenant_context(world.tenant):
        customer.refresh_from_db()
    assert customer.unsubscribed_at is None  # a GET (a mail scanner) unsubscribes nobody
    client.post(reverse("unsubscribe", args=[unsubscribe_token(customer)]))
    with tenant_context(world.tenant):
        customer.refresh_from_db()
    assert customer.unsubscribed_at is not None
    distribution.invitation_send(invitation_id=invitations(world)[0].pk)
    assert invitations(world)[0].suppressed_reason == "opted_out"
    assert client.get(reverse("unsubscribe", args=["forged"])).status_code == 404


def test_quiet_hours_postpone_the_invitation_instead_of_dropping_it(api, world, trigger):
    ingest_and_process(api, world, event())
    now = timezone.now().astimezone(ZoneInfo(world.tenant.time_zone))
    with tenant_context(world.tenant):
        ContactPolicy.objects.update(
            quiet_hours_start=now.hour, quiet_hours_end=(now.hour + 2) % 24
        )
    invitation = distribution.invitation_send(invitation_id=invitations(world)[0].pk)
    assert invitation.status == "scheduled" and invitation.scheduled_at > timezone.now()


def test_a_delayed_invitation_waits_and_the_dispatcher_finds_it_when_due(api, world, trigger):
    trigger.delay_minutes = 60
    with tenant_context(world.tenant):
        trigger.save()
    ingest_and_process(api, world, event())
    invitation = invitations(world)[0]
    assert invitation.scheduled_at > timezone.now() + timedelta(minutes=59)
    assert distribution.invitations_due() == ([], [])
    with tenant_context(world.tenant):
        Invitation.objects.filter(pk=invitation.pk).update(scheduled_at=timezone.now())
    assert distribution.invitations_due()[0] == [invitation.pk]


def test_one_reminder_after_the_configured_hours(api, world, trigger):
    ingest_and_process(api, world, event())
    invitation = distribution.invitation_send(invitation_id=invitations(world)[0].pk)
    assert distribution.invitations_due() == ([], [])
    with tenant_context(world.tenant):
        Invitation.objects.filter(pk=invitation.pk).update(
            last_sent_at=timezone.now() - timedelta(hours=49)
        )
    assert distribution.invitations_due()[1] == [invitation.pk]
    distribution.invitation_send(invitation_id=invitation.pk, reminder=True)
    distribution.invitation_send(invitation_id=invitation.pk, reminder=True)
    with tenant_context(world.tenant):
        invitation.refresh_from_db()
        assert invitation.reminders_sent == 1
        assert OutboundMessage.objects.filter(body__startswith="提醒").count() == 1


def test_the_personal_link_tracks_opened_started_completed(client, api, world, trigger):
    ingest_and_process(api, world, event())
    invitation = distribution.invitation_send(invitation_id=invitations(world)[0].pk)
    url = reverse("respond", args=[invitation.link.token])
    respondent_post(client, url, {"page": "p1", "q_nps_1": "9", "q_csat_1": "5"})
    with tenant_context(world.tenant):
        invitation.refresh_from_db()
        response = invitation.link and invitation.survey.responses.get()
        assert response.customer.external_id == "C1"
    assert invitation.opened_at and invitation.started_at and invitation.completed_at
    assert invitation.status == "completed"


def test_distribution_pages_show_the_funnel_and_save_the_policy(client, api, world, trigger):
    ingest_and_process(api, world, event("e1"), event("e2", customer="C2"))
    client.login(username=world.manager.username, password=PASSWORD)
    page = client.get(reverse("distribution_dashboard", args=[world.tenant.slug])).content.decode()
    assert 'data-testid="funnel-sent"' in page and "按渠道" in page
    reply = client.post(
        reverse("distribution_dashboard", args=[world.tenant.slug]),
        {
            "min_days_between_invitations": 7,
            "quiet_hours_start": 22,
            "quiet_hours_end": 8,
            "max_reminders": 2,
            "reminder_after_hours": 24,
            "invitation_valid_days": 10,
        },
    )
    assert reply.status_code == 302
    with tenant_context(world.tenant):
        assert ContactPolicy.objects.get().min_days_between_invitations == 7
    bad = client.post(
        reverse("distribution_dashboard", args=[world.tenant.slug]),
        {
            "min_days_between_invitations": 7,
            "quiet_hours_start": 30,
            "quiet_hours_end": 8,
            "max_reminders": 2,
            "reminder_after_hours": 24,
            "invitation_valid_days": 10,
        },
    )
    assert "0 到 23" in bad.content.decode()
    survey_page = client.get(
        reverse("survey_distribution", args=[world.tenant.slug, world.survey.pk])
    ).content.decode()
    assert "account.opened" in survey_page and "王先生" in survey_page


def test_adding_a_trigger_in_the_browser_form_validates_it(client, world, trigger):
    client.login(username=world.manager.username, password=PASSWORD)
    url = reverse("survey_distribution", args=[world.tenant.slug, world.survey.pk])
    client.post(
        url,
        {
            "action": "trigger_add",
            "event_type": "card.activated",
            "channel": "email",
            "delay_minutes": "30",
            "property": "amount",
            "op": "gt",
            "value": "100",
            "tag": "vip",
        },
    )
    with tenant_context(world.tenant):
        added = world.survey.triggers.get(event_type="card.activated")
    assert added.conditions == {
        "all": [
            {"property": "amount", "op": "gt", "value": 100},
            {"customer": "tags", "op": "contains", "value": "vip"},
        ]
    }
    page = client.post(
        url, {"action": "trigger_add", "event_type": "", "channel": "sms"}, follow=True
    )
    assert "事件类型" in page.content.decode()
    with system_context():
        assert Customer.all_tenants.count() == 0


def test_known_customers_are_invited_directly_through_the_api(api, world, trigger):
    url = f"/api/v1/surveys/{world.survey.pk}/invitations/"
    reply = api.post(
        url,
        {
            "channel": "sms",
            "customers": [
                {"id": "K1", "name": "李女士", "mobile": "13700000001"},
                {"id": "K2"},
                {"id": "K1", "mobile": "13700000001"},
            ],
        },
        format="json",
    )
    assert reply.status_code == 201, reply.content
    results = reply.json()["results"]
    assert [r["status"] for r in results] == ["scheduled", "suppressed", "suppressed"]
    assert [r["suppressed_reason"] for r in results[1:]] == ["no_contact", "frequency"]
    bad = api.post(
        url, {"channel": "fax", "customers": [{"id": "K3", "mobile": "123"}]}, format="json"
    )
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"channel", "customers"}


def test_a_crm_batch_costs_a_few_queries_per_person_not_a_customer_read_each(api, world, trigger):
    url = f"/api/v1/surveys/{world.survey.pk}/invitations/"

    def queries_for(count: int, prefix: str) -> int:
        people = [{"id": f"{prefix}{i}", "mobile": f"1370000{i:04d}"} for i in range(count)]
        with CaptureQueriesContext(connection) as queries:
            reply = api.post(url, {"channel": "sms", "customers": people}, format="json")
        assert reply.status_code == 201, reply.content
        return len(queries)

    # Per person: the frequency check, the link and the invitation; the customers are read
    # and created for the whole batch at once, the contact policy once.
    few = queries_for(10, "A")  # the first also creates the tenant's contact policy
    assert queries_for(40, "B") - few <= 30 * 3
    with tenant_context(world.tenant):
        assert Customer.objects.filter(external_id__startswith="B").count() == 40
        assert Invitation.objects.filter(customer__external_id__startswith="B").count() == 40


def test_a_pasted_customer_list_is_invited_or_refused_whole(client, world, trigger):
    client.login(username=world.manager.username, password=PASSWORD)
    url = reverse("survey_distribution", args=[world.tenant.slug, world.survey.pk])
    page = client.post(
        url,
        {"action": "invite", "channel": "sms", "people": "P1,张先生,13600000001\nP2,,12345"},
        follow=True,
    ).content.decode()
    assert "第 2 行手机号码格式不正确" in page
    assert invitations(world) == []
    page = client.post(
        url,
        {
            "action": "invite",
            "channel": "sms",
            "people": "P1,张先生,13600000001\nP2，赵女士，13600000002",
        },
        follow=True,
    ).content.decode()
    assert "已创建 2 份邀请" in page
    assert [i.customer.name for i in invitations(world)] == ["张先生", "赵女士"]


def test_an_invitation_answered_through_the_api_counts_as_opened_and_started(api, world, trigger):
    from surveys.services import response_submit

    ingest_and_process(api, world, event())
    invitation = distribution.invitation_send(invitation_id=invitations(world)[0].pk)
    with tenant_context(world.tenant):
        response_submit(
            survey=world.survey, raw_answers={"nps_1": 8, "csat_1": 4}, link=invitation.link
        )
        invitation.refresh_from_db()
    assert invitation.status == "completed" and invitation.opened_at and invitation.started_at
