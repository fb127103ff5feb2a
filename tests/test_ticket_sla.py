"""Ticket service levels in working time (alerts/sla.py, docs/tickets.md): due times from the
tenant's calendar and targets per priority, the clock that pauses while the ticket waits on
the customer, near breach and breach on the queue and the ticket, and the settings page
where owners and admins set the calendar and the targets. Every test fixes the clock."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from alerts.models import Ticket, TicketEvent
from alerts.services import (
    alert_rule_create,
    ticket_note_add,
    ticket_transition,
    tickets_escalate_due,
)
from alerts.sla import ClockState, sla_clock_reader
from organizations.db.guard import owner_session
from organizations.members import membership_deactivate
from organizations.models import AuditEvent, Tenant
from organizations.tenancy import tenant_context
from tests.factories import PASSWORD, member
from tests.helpers import BAD_ANSWERS, submit_and_score
from tests.test_one_ticket import rescore


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"{text}+08:00")


FRIDAY_EVENING = at("2026-06-12 17:00")  # an ordinary Friday, no holiday near


def open_ticket(world, when: datetime) -> Ticket:
    """A bad response scored at `when`: the default rule opens a high-priority ticket (24 h)."""
    with time_machine.travel(when, tick=False):
        response = submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant):
        return Ticket.objects.get(response=response)


def clock_at(world, ticket: Ticket, when: datetime):
    world.tenant.refresh_from_db()
    with tenant_context(world.tenant):
        ticket.refresh_from_db()
    return sla_clock_reader(world.tenant, now=when)(ticket)


def act(world, ticket: Ticket, action: str, when: datetime, **extra) -> Ticket:
    with time_machine.travel(when, tick=False), tenant_context(world.tenant):
        return ticket_transition(ticket=ticket, action=action, by=world.agent, **extra)


def test_a_friday_evening_complaint_is_due_in_working_hours_not_over_the_weekend(world):
    ticket = open_ticket(world, FRIDAY_EVENING)
    assert ticket.priority == "high"
    assert (ticket.first_response_minutes, ticket.sla_minutes) == (120, 24 * 60)
    # first response: Friday 17-18, Monday 9-10; resolution: 1 + 9 + 9 hours, Wednesday 9-14
    assert ticket.first_response_due_at == at("2026-06-15 10:00")
    assert ticket.sla_due_at == at("2026-06-17 14:00")


def test_the_clock_runs_first_response_then_resolution_and_tells_near_breach_and_breach(world):
    ticket = open_ticket(world, FRIDAY_EVENING)
    on_saturday = clock_at(world, ticket, at("2026-06-13 11:00"))
    assert (on_saturday.kind, on_saturday.state, on_saturday.minutes) == (
        "first_response",
        ClockState.ON_TRACK,
        60,  # the weekend does not count
    )
    near = clock_at(world, ticket, at("2026-06-15 09:40"))  # 20 of 120 minutes left: 83 % used
    assert (near.state, near.minutes) == (ClockState.NEAR_BREACH, 20)
    late = clock_at(world, ticket, at("2026-06-15 10:45"))
    assert (late.state, late.minutes) == (ClockState.BREACHED, 45)
    act(world, ticket, "claim", at("2026-06-15 10:50"))
    resolution = clock_at(world, ticket, at("2026-06-15 11:00"))
    assert ticket.first_responded_at == at("2026-06-15 10:50")
    assert (resolution.kind, resolution.state) == ("resolution", ClockState.ON_TRACK)
    assert resolution.minutes == 7 * 60 + 9 * 60 + 5 * 60


def test_waiting_on_the_customer_pauses_the_clock_and_the_resume_counts_the_rest(world):
    ticket = open_ticket(world, FRIDAY_EVENING)
    act(world, ticket, "claim", at("2026-06-15 09:30"))
    ticket = act(world, ticket, "wait_customer", at("2026-06-15 10:00"))
    assert ticket.sla_paused_at == at("2026-06-15 10:00")
    assert ticket.sla_left_minutes == 8 * 60 + 9 * 60 + 5 * 60  # 22 h to Wednesday 14:00
    paused = clock_at(world, ticket, at("2026-06-19 12:00"))
    assert (paused.state, paused.minutes) == (ClockState.PAUSED, 22 * 60)
    # Past the old due time, still waiting: the sweep does not escalate it.
    with time_machine.travel(at("2026-06-22 08:00"), tick=False):
        assert tickets_escalate_due() == 0
    ticket = act(world, ticket, "resume", at("2026-06-22 09:00"))
    # Monday 9 h, Tuesday 9 h, Wednesday 4 h
    assert ticket.sla_due_at == at("2026-06-24 13:00")
    assert ticket.sla_paused_at is None and ticket.sla_left_minutes is None
    with tenant_context(world.tenant):
        kinds = list(ticket.events.values_list("kind", "note"))
    assert [kind for kind, _note in kinds] == [
        "created",
        "claimed",
        "status",
        "sla_paused",
        "status",
        "sla_resumed",
    ]
    assert "22 小时" in kinds[3][1] and "2026-06-24 13:00" in kinds[5][1]


def test_a_ticket_paused_after_its_due_time_stays_overdue_from_that_time(world):
    ticket = open_ticket(world, FRIDAY_EVENING)
    act(world, ticket, "claim", at("2026-06-15 09:30"))
    act(world, ticket, "wait_customer", at("2026-06-18 10:00"))
    ticket = act(world, ticket, "resume", at("2026-06-22 10:00"))
    assert ticket.sla_due_at == at("2026-06-17 14:00")
    assert clock_at(world, ticket, at("2026-06-22 10:00")).state == ClockState.BREACHED


def test_a_note_is_a_first_response(world):
    ticket = open_ticket(world, FRIDAY_EVENING)
    with time_machine.travel(at("2026-06-15 09:05"), tick=False), tenant_context(world.tenant):
        ticket_note_add(ticket=ticket, by=world.agent, note="已致电客户")
        ticket.refresh_from_db()
    assert ticket.first_responded_at == at("2026-06-15 09:05")


def test_an_urgent_rule_matching_later_brings_the_first_response_forward(world):
    ticket = open_ticket(world, FRIDAY_EVENING)
    with tenant_context(world.tenant):
        alert_rule_create(
            name="满意度极低",
            conditions={"all": [{"fact": "csat", "op": "lte", "value": 2}]},
            priority="urgent",
            sla_hours=2,
            by=world.manager,
        )
    with tenant_context(world.tenant):
        response = ticket.response
    with time_machine.travel(at("2026-06-15 09:00"), tick=False):
        rescore(response)
    with tenant_context(world.tenant):
        ticket.refresh_from_db()
        note = ticket.events.get(kind=TicketEvent.Kind.MATCHED).note
    assert ticket.priority == "urgent"
    assert ticket.first_response_due_at == at("2026-06-15 09:30")  # urgent: 30 minutes
    assert ticket.sla_due_at == at("2026-06-15 11:00") and ticket.sla_minutes == 120
    assert "首次响应截止提前至 2026-06-15 09:30" in note


def test_reopening_gives_the_resolution_target_again_from_then(world):
    ticket = open_ticket(world, FRIDAY_EVENING)
    act(world, ticket, "claim", at("2026-06-15 09:30"))
    act(world, ticket, "resolve", at("2026-06-15 11:00"), root_cause=world.root_cause)
    act(world, ticket, "close", at("2026-06-15 11:05"))
    ticket = act(world, ticket, "reopen", at("2026-06-22 10:00"))
    assert ticket.sla_due_at == at("2026-06-24 16:00")  # 24 working hours from the reopening
    with tenant_context(world.tenant):
        last = ticket.events.order_by("at", "id").last()
    assert last.kind == "sla_resumed" and "2026-06-24 16:00" in last.note


def test_a_waiting_ticket_sent_back_to_the_queue_runs_its_clock_again(world):
    ticket = open_ticket(world, FRIDAY_EVENING)
    act(world, ticket, "claim", at("2026-06-15 09:30"))
    act(world, ticket, "wait_customer", at("2026-06-15 10:00"))
    owner = User.objects.get(username=f"{world.tenant.slug}-owner")
    with time_machine.travel(at("2026-06-16 09:00"), tick=False), tenant_context(world.tenant):
        membership_deactivate(membership=member(world.agent, world.tenant), by=owner)
        ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.sla_paused_at is None
    assert ticket.sla_due_at == at("2026-06-18 13:00")  # the 22 h left, from Tuesday 9:00


# --- the queue and the ticket page -------------------------------------------------------------


def page(client, world, name: str, **kwargs) -> str:
    assert client.login(username=world.agent.username, password=PASSWORD)
    target = reverse(name, kwargs={"tenant_slug": world.tenant.slug, **kwargs})
    return client.get(target).content.decode()


@pytest.mark.parametrize(
    ("when", "state", "words"),
    [
        (at("2026-06-15 09:00"), "on_track", ["按时", "首次响应 · 剩余 1 小时"]),
        (at("2026-06-15 09:40"), "near_breach", ["即将超时", "首次响应 · 剩余 20 分"]),
        (at("2026-06-16 09:00"), "breached", ["已超时", "首次响应 · 超出 8 小时"]),
    ],
)
def test_the_queue_and_the_ticket_show_the_clock_in_words_not_only_colour(
    client, world, when, state, words
):
    open_ticket(world, FRIDAY_EVENING)
    with time_machine.travel(when, tick=False):
        queue = page(client, world, "ticket_queue")
        detail = client.get(reverse("ticket_detail", args=[world.tenant.slug, 1])).content.decode()
    for html in (queue, detail):
        assert f'data-sla="{state}"' in html
        assert all(word in html for word in words)
    assert ("overdue" in queue.split('data-ticket="1"')[0].rsplit("<tr", 1)[1]) == (
        state == "breached"
    )


def test_the_ticket_page_shows_a_paused_clock_and_both_due_times(client, world):
    ticket = open_ticket(world, FRIDAY_EVENING)
    act(world, ticket, "claim", at("2026-06-15 09:30"))
    act(world, ticket, "wait_customer", at("2026-06-15 10:00"))
    with time_machine.travel(at("2026-06-16 10:00"), tick=False):
        detail = page(client, world, "ticket_detail", number=ticket.number)
    assert 'data-sla="paused"' in detail and "计时暂停" in detail and "剩余 22 小时" in detail
    assert "2026-06-15 10:00" in detail and "已于 2026-06-15 09:30 响应" in detail


# --- the settings page -------------------------------------------------------------------------


def settings_form(**changes) -> dict:
    data = {
        "time_zone": "Asia/Shanghai",
        "public_holidays": "on",
        "closures": "2026-06-15 ~ 2026-06-16 系统升级",
        "near_breach_percent": "50",
        **{f"hours_{day}": "09:00-12:00, 13:00-17:00" for day in range(5)},
        "hours_5": "",
        "hours_6": "",
    }
    for priority, first, resolution in (
        ("urgent", "0.5", "2"),
        ("high", "1", "8"),
        ("normal", "4", "16"),
        ("low", "8", "40"),
    ):
        data[f"first_response_{priority}"] = first
        data[f"resolution_{priority}"] = resolution
    return {**data, **changes}


def settings_url(world) -> str:
    return reverse("sla_settings", args=[world.tenant.slug])


def stored(world) -> tuple:
    tenant = Tenant.objects.get(pk=world.tenant.pk)
    return tenant.time_zone, tenant.settings.get("calendar"), tenant.settings.get("sla")


def test_an_owner_sets_the_calendar_and_targets_and_new_tickets_follow_them(client, world):
    assert client.login(username=f"{world.tenant.slug}-owner", password=PASSWORD)
    assert client.get(settings_url(world)).status_code == 200
    reply = client.post(settings_url(world), settings_form())
    assert reply.status_code == 302
    zone, calendar, sla = stored(world)
    assert zone == "Asia/Shanghai" and calendar["time_zone"] == "Asia/Shanghai"
    assert calendar["hours"][0] == "09:00-12:00, 13:00-17:00" and calendar["hours"][5] == ""
    assert calendar["closures"] == [["2026-06-15", "2026-06-16", "系统升级"]]
    assert sla["resolution"]["high"] == 8 * 60 and sla["near_breach_percent"] == 50
    with tenant_context(world.tenant):
        assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
            "tenant.calendar",
            "tenant.sla",
        }
    ticket = open_ticket(world, FRIDAY_EVENING)
    # The rule asks 24 h; high is now 8: Friday has no time after 17:00, Monday and Tuesday
    # are closed, Wednesday 9-12 and 13-17 is 7 h, Thursday 9-10.
    assert ticket.sla_minutes == 8 * 60
    assert ticket.sla_due_at == at("2026-06-18 10:00")
    assert ticket.first_response_due_at == at("2026-06-17 10:00")
    # near breach from half the target used: 25 of 60 minutes is not, 45 is
    assert clock_at(world, ticket, at("2026-06-17 09:25")).state == ClockState.ON_TRACK
    assert clock_at(world, ticket, at("2026-06-17 09:45")).state == ClockState.NEAR_BREACH


def test_a_calendar_in_another_time_zone_counts_its_own_hours(client, world):
    """Berlin in June is six hours behind Shanghai: the Friday-evening complaint comes in at
    11:00 there. The tenant's own time zone, which dates the analytics, stays."""
    assert client.login(username=f"{world.tenant.slug}-owner", password=PASSWORD)
    form = settings_form(time_zone="Europe/Berlin", closures="")
    assert client.post(settings_url(world), form).status_code == 302
    assert stored(world)[0] == "Asia/Shanghai"
    ticket = open_ticket(world, FRIDAY_EVENING)
    # 8 working hours: Friday 11-12 and 13-17 in Berlin, Monday 9-12
    assert ticket.sla_due_at == at("2026-06-15 18:00")
    assert ticket.first_response_due_at == at("2026-06-12 18:00")  # Friday 12:00 in Berlin
    detail = page(client, world, "ticket_detail", number=ticket.number)
    assert "2026-06-15 12:00" in detail  # the due time as Berlin reads it


@pytest.mark.parametrize("who", ["agent", "viewer", "manager"])
def test_only_owners_and_admins_change_the_calendar(client, world, who):
    before = stored(world)
    assert client.login(username=getattr(world, who).username, password=PASSWORD)
    assert client.get(settings_url(world)).status_code == 403
    assert client.post(settings_url(world), settings_form()).status_code == 403
    assert stored(world) == before


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({f"hours_{day}": "" for day in range(7)}, "每周至少需要一段工作时间"),
        ({"hours_2": "9点到6点"}, "无法识别的工作时间"),
        ({"hours_2": "18:00-09:00"}, "结束时间应晚于开始时间"),
        ({"closures": "下周一"}, "自定义休息日第 1 行"),
        ({"closures": "2026-12-26 ~ 2026-12-24"}, "结束日期早于开始日期"),
        ({"time_zone": "Asia/Beijing"}, "未知时区"),
        ({"first_response_high": "9"}, "首次响应时限不能长于解决时限"),
        ({"resolution_low": "0"}, "0.25"),
        ({"near_breach_percent": "100"}, "99"),
    ],
)
def test_bad_settings_say_what_is_wrong_and_change_nothing(client, world, changes, says):
    before = stored(world)
    assert client.login(username=f"{world.tenant.slug}-owner", password=PASSWORD)
    reply = client.post(settings_url(world), settings_form(**changes))
    assert reply.status_code == 200
    assert says in reply.content.decode()
    assert stored(world) == before


def test_another_tenants_calendar_is_its_own(client, world, other_world):
    assert client.login(username=f"{other_world.tenant.slug}-owner", password=PASSWORD)
    assert client.get(settings_url(world)).status_code == 404
    assert client.post(settings_url(world), settings_form()).status_code == 404
    assert client.post(settings_url(other_world), settings_form()).status_code == 302
    assert stored(world) == ("Asia/Shanghai", None, None)
    assert stored(other_world)[1]["closures"][0][2] == "系统升级"


# --- the migration -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_dates_first_responses_and_pauses_waiting_tickets_from_their_history(
    world,
):
    waiting_response = submit_and_score(world, BAD_ANSWERS)
    untouched_response = submit_and_score(world, BAD_ANSWERS)
    old = ("alerts", "0007_ticket_assigned")
    t0 = at("2026-06-10 10:00")
    with owner_session():
        executor = MigrationExecutor(connection)
        executor.migrate([old])
        apps = executor.loader.project_state([old]).apps
        OldTicket = apps.get_model("alerts", "Ticket")
        OldEvent = apps.get_model("alerts", "TicketEvent")
        OldTicket.objects.filter(response_id=waiting_response.pk).update(
            status="waiting_customer", sla_due_at=t0 + timedelta(hours=24)
        )
        waiting = OldTicket.objects.get(response_id=waiting_response.pk)
        for kind, to_status, minutes, actor in [
            ("assigned", "", 1, None),
            ("claimed", "in_progress", 30, world.agent.pk),
            ("status", "waiting_customer", 90, world.agent.pk),
        ]:
            OldEvent.objects.create(
                tenant_id=world.tenant.pk,
                ticket=waiting,
                kind=kind,
                to_status=to_status,
                actor_user_id=actor,
                at=t0 + timedelta(minutes=minutes),
            )
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    with tenant_context(world.tenant):
        waiting = Ticket.objects.get(response=waiting_response)
        untouched = Ticket.objects.get(response=untouched_response)
    assert waiting.first_responded_at == t0 + timedelta(minutes=30)
    assert waiting.sla_paused_at == t0 + timedelta(minutes=90)
    assert waiting.sla_left_minutes == 24 * 60 - 90
    assert waiting.first_response_due_at is None and waiting.sla_minutes is None
    assert untouched.first_responded_at is None and untouched.sla_paused_at is None
