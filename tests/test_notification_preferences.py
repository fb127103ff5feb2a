"""A member's own notification preferences: which events, which channels besides the
notification centre, and quiet hours (in the tenant's time zone, over midnight too) without
them; bad input is refused and changes nothing."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.urls import reverse

from alerts.models import Ticket
from alerts.services import ticket_reassign
from notifications.models import Notification, NotificationPreference
from notifications.selectors import channels_now, notification_preference_of
from organizations.tenancy import tenant_context
from tests.factories import PASSWORD
from tests.helpers import BAD_ANSWERS, submit_and_score

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def settings_page(world) -> str:
    return reverse("notification_preferences", args=[world.tenant.slug])


@pytest.fixture
def agent_client(client, world):
    client.login(username=world.agent.username, password=PASSWORD)
    return client


def preference_of(world, user) -> NotificationPreference:
    with tenant_context(world.tenant):
        return notification_preference_of(user=user)


def test_a_member_chooses_events_channels_and_quiet_hours(agent_client, world):
    reply = agent_client.post(
        settings_page(world),
        {
            "kinds": ["assigned", "escalated"],
            "channels": ["sms", "dingtalk"],
            "quiet_from": "22:00",
            "quiet_until": "07:30",
            "mobile": "13800000000",
        },
    )
    assert reply.status_code == 302
    saved = preference_of(world, world.agent)
    assert (saved.kinds, saved.channels) == (["assigned", "escalated"], ["sms", "dingtalk"])
    assert (saved.quiet_from, saved.quiet_until) == (datetime.time(22), datetime.time(7, 30))
    assert (
        'value="dingtalk" id="id_channels_3" checked'
        in agent_client.get(settings_page(world)).content.decode()
    )
    assert preference_of(world, world.other_agent).pk is None  # only their own


@pytest.mark.parametrize(
    ("quiet", "message"),
    [
        ({"quiet_from": "22:00"}, "免打扰时段需同时填写开始和结束时间"),
        ({"quiet_from": "22:00", "quiet_until": "22:00"}, "开始和结束时间不能相同"),
        ({"quiet_from": "25:00", "quiet_until": "07:00"}, "输入一个有效的时间"),
    ],
)
def test_bad_quiet_hours_are_refused_and_change_nothing(agent_client, world, quiet, message):
    reply = agent_client.post(settings_page(world), {"kinds": ["assigned"], **quiet})
    assert reply.status_code == 200 and message in reply.content.decode()
    assert preference_of(world, world.agent).pk is None


def test_sms_needs_a_mobile_number(agent_client, world):
    for mobile in ("", "1380000"):
        reply = agent_client.post(settings_page(world), {"channels": ["sms"], "mobile": mobile})
        assert "短信通知需要有效的中国大陆手机号" in reply.content.decode()
    assert preference_of(world, world.agent).pk is None


def test_an_unknown_channel_is_refused(agent_client, world):
    reply = agent_client.post(settings_page(world), {"channels": ["fax"]})
    assert reply.status_code == 200
    assert preference_of(world, world.agent).pk is None


def test_an_event_the_member_turned_off_is_not_notified(
    agent_client, world, django_capture_on_commit_callbacks
):
    agent_client.post(settings_page(world), {"kinds": ["assigned", "escalated"]})
    response = submit_and_score(world, BAD_ANSWERS)
    with django_capture_on_commit_callbacks(execute=True), tenant_context(world.tenant):
        ticket = Ticket.objects.get(response=response)
        ticket_reassign(ticket=ticket, to=world.agent, reason="就近处理", by=world.manager)
    with tenant_context(world.tenant):
        assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        (datetime.datetime(2026, 12, 1, 23, 0), True),
        (datetime.datetime(2026, 12, 2, 6, 59), True),
        (datetime.datetime(2026, 12, 2, 7, 0), False),
        (datetime.datetime(2026, 12, 1, 12, 0), False),
    ],
)
def test_no_channel_besides_the_centre_in_quiet_hours_over_midnight(world, local, quiet):
    preference = NotificationPreference(
        channels=["email", "wecom"], quiet_from=datetime.time(22), quiet_until=datetime.time(7)
    )
    with time_machine.travel(local.replace(tzinfo=SHANGHAI), tick=False):
        channels = channels_now(preference, tenant=world.tenant)
    assert channels == ([] if quiet else ["email", "wecom"])


def test_quiet_hours_within_a_day(world):
    preference = NotificationPreference(
        channels=["sms"], quiet_from=datetime.time(12), quiet_until=datetime.time(14)
    )
    for hour, expected in ((11, ["sms"]), (12, []), (13, []), (14, ["sms"])):
        moment = datetime.datetime(2026, 12, 1, hour, 30 if hour == 13 else 0, tzinfo=SHANGHAI)
        with time_machine.travel(moment, tick=False):
            assert channels_now(preference, tenant=world.tenant) == expected
