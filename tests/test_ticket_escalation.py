"""Escalation up the org tree (alerts/escalation.py, docs/tickets.md): at thresholds of a
ticket's resolution SLA in working time it reaches the manager of its unit, then of the units
above, to head office; each step is an event naming the person reached, sent to whoever listens
once the transaction commits; a step is never taken twice, a paused ticket does not climb, and
a chain that loops is refused on the settings page. Every test fixes the clock."""

import threading
from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alerts.escalation import (
    DEFAULT_CHAIN,
    EscalationStep,
    chain_people,
    escalation_chain,
    escalation_chain_check,
    step_due_at,
)
from alerts.models import Priority, Ticket, TicketEvent
from alerts.services import ticket_note_add, tickets_escalate_due
from alerts.signals import ticket_events_created
from alerts.sla import sla_policy
from organizations.business_hours import tenant_calendar, working_minutes_between
from organizations.models import OrgUnit, Role, Tenant
from organizations.services import membership_create
from organizations.tenancy import tenant_context
from tests.conftest import celery_beat, require_real_services, wait_until
from tests.factories import PASSWORD, UserFactory
from tests.test_ticket_sla import FRIDAY_EVENING, act, at, settings_form, stored
from tests.test_ticket_sla import open_ticket as open_unanswered_ticket

# The Friday-evening ticket (high, 24 working hours) is due Wednesday 14:00: 80 % of it is used
# at Wednesday 09:12, 150 % on Thursday 17:00, 200 % on Tuesday 11:00 (Friday 19 June is the
# Dragon Boat Festival).
STEP_1, STEP_2, STEP_3 = at("2026-06-17 09:12"), at("2026-06-17 14:00"), at("2026-06-18 17:00")


def open_ticket(world, when: datetime) -> Ticket:
    """A ticket the agent responded to at once (a note), so that only the resolution chain
    runs; `open_unanswered_ticket` for the first-response escalation."""
    ticket = open_unanswered_ticket(world, when)
    with time_machine.travel(when, tick=False), tenant_context(world.tenant):
        ticket_note_add(ticket=ticket, by=world.agent, note="已致电客户")
        ticket.refresh_from_db()
    return ticket


def sweep(when: datetime) -> int:
    with time_machine.travel(when, tick=False):
        return tickets_escalate_due()


def escalations(world, ticket) -> list[tuple[str | None, str]]:
    with tenant_context(world.tenant):
        events = TicketEvent.objects.filter(ticket=ticket, kind="escalated").order_by("at", "id")
        return [(e.to_user.username if e.to_user else None, e.note) for e in events]


@pytest.fixture
def bosses(world):
    """A manager for the branch, the region and head office, each a member of the tenant."""
    people = {}
    with tenant_context(world.tenant):
        for key, unit in (("branch", world.branch), ("region", world.region), ("hq", world.hq)):
            people[key] = UserFactory(username=f"boss-{key}")
            membership_create(user=people[key], role=Role.CX_MANAGER, org_unit=unit)
            OrgUnit.objects.filter(pk=unit.pk).update(manager=people[key])
    return people


# --- the chain, without the database ------------------------------------------------------------


def unit(pk: int, kind: str, manager_id: int | None) -> OrgUnit:
    return OrgUnit(pk=pk, kind=kind, manager_id=manager_id)


HQ, REGION, BRANCH, TEAM = "hq", "region", "branch", "team"


def reached(ancestors, *, active=frozenset({1, 2, 3, 4}), assignee=None, chain=DEFAULT_CHAIN):
    found = chain_people(
        chain=chain, ancestors=ancestors, active_user_ids=set(active), assignee_id=assignee
    )
    return [person.user_id for person in found]


def test_the_default_chain_climbs_from_the_units_manager_to_head_office():
    tree = [unit(1, HQ, 1), unit(2, REGION, 2), unit(3, BRANCH, 3), unit(4, TEAM, 4)]
    # team, its parent (the branch), the region, head office
    assert reached(tree) == [4, 3, 2, 1]


def test_a_unit_without_a_manager_is_passed_for_the_next_one_up():
    tree = [unit(1, HQ, 1), unit(2, REGION, 2), unit(3, BRANCH, None)]
    # the branch has nobody: its step reaches the region; the parent step climbs on to head
    # office, and nothing is left above for the last two steps
    assert reached(tree) == [2, 1, None, None]


def test_nobody_is_reached_twice_nor_the_assignee_nor_a_manager_who_left():
    same_boss = [unit(1, HQ, 1), unit(2, REGION, 2), unit(3, BRANCH, 2)]
    assert reached(same_boss) == [2, 1, None, None]
    assert reached([unit(1, HQ, 1), unit(2, REGION, 2), unit(3, BRANCH, 3)], assignee=3) == [
        2,
        1,
        None,
        None,
    ]
    gone = [unit(1, HQ, 1), unit(2, REGION, 2), unit(3, BRANCH, 3)]
    assert reached(gone, active={1, 3}) == [3, 1, None, None]


def test_a_step_to_head_office_goes_to_the_top_whatever_lies_between():
    tree = [unit(1, HQ, 1), unit(2, REGION, 2), unit(3, BRANCH, 3)]
    chain = (EscalationStep(100, "unit"), EscalationStep(200, "head_office"))
    assert reached(tree, chain=chain) == [3, 1]


@pytest.mark.parametrize(
    ("steps", "says"),
    [
        ([{"percent": 80, "level": "region"}, {"percent": 100, "level": "unit"}], "形成循环"),
        ([{"percent": 80, "level": "parent"}, {"percent": 100, "level": "parent"}], "形成循环"),
        ([{"percent": 100, "level": "unit"}, {"percent": 100, "level": "parent"}], "应高于上一步"),
        ([{"percent": 0, "level": "unit"}], "阈值应为"),
        ([{"percent": 80, "level": "ceo"}], "请选择"),
    ],
)
def test_a_chain_that_loops_or_does_not_rise_is_refused(steps, says):
    with pytest.raises(Exception, match=says):
        escalation_chain_check(steps)


def test_an_urgent_ticket_follows_the_chain_on_its_shorter_sla(world):
    calendar, policy = tenant_calendar(world.tenant), sla_policy(world.tenant)
    urgent = Ticket(priority=Priority.URGENT, sla_minutes=None, sla_due_at=at("2026-06-15 13:00"))
    # 4 working hours from Monday 09:00: 80 % used at 12:12, 150 % at 15:00
    first = step_due_at(urgent, DEFAULT_CHAIN[0], calendar=calendar, policy=policy)
    third = step_due_at(urgent, DEFAULT_CHAIN[2], calendar=calendar, policy=policy)
    assert (first, third) == (at("2026-06-15 12:12"), at("2026-06-15 15:00"))
    assert working_minutes_between(calendar, first, urgent.sla_due_at) == 48


# --- the sweep ------------------------------------------------------------------------------------


def test_the_ticket_climbs_one_step_at_each_threshold_and_each_step_names_the_person(
    world, bosses, django_capture_on_commit_callbacks
):
    ticket = open_ticket(world, FRIDAY_EVENING)
    heard: list[list[int]] = []

    def listen(sender, event_ids, **kwargs):
        heard.append(event_ids)

    ticket_events_created.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert sweep(at("2026-06-16 17:00")) == 0  # Tuesday: 71 % used
            assert sweep(STEP_1 - timedelta(minutes=1)) == 0
            assert sweep(STEP_1) == 1
            assert sweep(STEP_1 + timedelta(minutes=1)) == 0  # the same step is not taken again
            assert sweep(STEP_2) == 1
            assert sweep(STEP_3 + timedelta(minutes=5)) == 1
    finally:
        ticket_events_created.disconnect(listen)
    steps = escalations(world, ticket)
    assert [person for person, _note in steps] == ["boss-branch", "boss-region", "boss-hq"]
    assert "SLA 已用 80%" in steps[0][1] and "浦东支行" in steps[0][1]
    with tenant_context(world.tenant):
        ticket.refresh_from_db()
        event_ids = list(
            TicketEvent.objects.filter(kind="escalated").order_by("id").values_list("id", flat=True)
        )
    assert ticket.escalation_level == 3 and ticket.escalated_at == at("2026-06-18 17:05")
    assert heard == [[pk] for pk in event_ids]  # one notice per sweep, after its commit
    # The last step (head office at 200 %) finds everyone above reached: recorded, nobody told.
    assert sweep(at("2026-06-23 11:00")) == 1
    assert escalations(world, ticket)[-1][0] is None
    assert sweep(at("2026-06-29 11:00")) == 0  # the chain is done


def test_a_ticket_found_far_past_its_sla_climbs_one_step_per_sweep(world, bosses):
    ticket = open_ticket(world, FRIDAY_EVENING)
    later = at("2026-07-01 10:00")
    assert [sweep(later + timedelta(minutes=minute)) for minute in range(5)] == [1, 1, 1, 1, 0]
    assert len(escalations(world, ticket)) == 4


def test_a_ticket_waiting_on_the_customer_does_not_escalate(world, bosses):
    ticket = open_ticket(world, FRIDAY_EVENING)
    act(world, ticket, "claim", at("2026-06-15 09:30"))
    act(world, ticket, "wait_customer", at("2026-06-15 10:00"))
    assert sweep(at("2026-06-30 10:00")) == 0
    # Resumed a month later with the 22 working hours it had left: due Wednesday 2026-07-08
    # 13:00 (the new due time, not the old one, sets the steps).
    act(world, ticket, "resume", at("2026-07-06 09:00"))
    assert sweep(at("2026-07-07 09:00")) == 0
    assert sweep(at("2026-07-08 09:00")) == 1
    assert escalations(world, ticket)[0][0] == "boss-branch"


def test_closed_tickets_do_not_escalate_and_a_reopened_one_starts_the_chain_again(world, bosses):
    ticket = open_ticket(world, FRIDAY_EVENING)
    assert sweep(STEP_1) == 1
    for action in ("claim", "resolve", "close"):
        act(world, ticket, action, STEP_1 + timedelta(minutes=10), root_cause=world.root_cause)
    assert sweep(at("2026-06-30 10:00")) == 0
    ticket = act(world, ticket, "reopen", at("2026-07-01 09:00"))
    assert ticket.escalation_level == 0
    assert sweep(at("2026-07-01 10:00")) == 0
    assert sweep(at("2026-07-03 17:00")) == 1  # 80 % of 24 working hours again, from Wednesday


def test_the_assignee_is_not_told_of_their_own_ticket(world, bosses):
    ticket = open_ticket(world, FRIDAY_EVENING)
    with tenant_context(world.tenant):
        Ticket.objects.filter(pk=ticket.pk).update(assignee=bosses["branch"])
    assert sweep(STEP_1) == 1
    assert escalations(world, ticket)[0][0] == "boss-region"


def test_each_tenants_tickets_reach_only_its_own_managers(world, other_world, bosses):
    with tenant_context(other_world.tenant):
        theirs = UserFactory(username="boss-globex")
        membership_create(user=theirs, role=Role.CX_MANAGER, org_unit=other_world.branch)
        OrgUnit.objects.filter(pk=other_world.branch.pk).update(manager=theirs)
    ours, other = open_ticket(world, FRIDAY_EVENING), open_ticket(other_world, FRIDAY_EVENING)
    assert sweep(STEP_1) == 2
    assert escalations(world, ours)[0][0] == "boss-branch"
    assert escalations(other_world, other)[0][0] == "boss-globex"
    with tenant_context(world.tenant):
        assert TicketEvent.objects.filter(kind="escalated").count() == 1


def test_an_empty_chain_escalates_nothing(world, bosses):
    ticket = open_ticket(world, FRIDAY_EVENING)
    with tenant_context(world.tenant):
        tenant = Tenant.objects.get(pk=world.tenant.pk)
        tenant.settings = {**tenant.settings, "sla": {"escalation": []}}
        tenant.save()
        assert escalation_chain(tenant) == ()
    assert sweep(at("2026-07-01 10:00")) == 0
    assert escalations(world, ticket) == []


def test_the_sweep_runs_the_same_queries_for_one_ticket_or_many(world, bosses):
    open_ticket(world, FRIDAY_EVENING)
    with CaptureQueriesContext(connection) as one:
        assert sweep(STEP_1) == 1
    for _ in range(5):
        open_ticket(world, FRIDAY_EVENING)
    with CaptureQueriesContext(connection) as many:
        assert sweep(STEP_1 + timedelta(minutes=1)) == 5
    assert len(one) == len(many)


@pytest.mark.django_db(transaction=True)
def test_a_ticket_another_sweep_holds_is_passed_over_and_its_step_taken_once(world, bosses):
    """Two sweeps at once: the second skips the row the first has locked, and once the first
    commits, the row it changed no longer qualifies for the step it took."""
    ticket = open_ticket(world, FRIDAY_EVENING)
    locked, release = threading.Event(), threading.Event()

    def hold_the_row():
        with tenant_context(world.tenant), transaction.atomic():
            Ticket.objects.select_for_update().get(pk=ticket.pk)
            locked.set()
            release.wait(timeout=30)
        connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    assert locked.wait(timeout=30)
    try:
        assert sweep(STEP_1) == 0
    finally:
        release.set()
        holder.join(timeout=30)
    assert sweep(STEP_1) == 1
    assert sweep(STEP_1 + timedelta(seconds=30)) == 0
    assert len(escalations(world, ticket)) == 1


# --- the settings page, the queue and the ticket -------------------------------------------------


def chain_form(*steps: tuple[str, str]) -> dict:
    data = settings_form()
    for number in range(4):
        level, percent = steps[number] if number < len(steps) else ("", "")
        data[f"escalation_level_{number}"] = level
        data[f"escalation_percent_{number}"] = percent
    return data


def settings_url(world) -> str:
    return reverse("sla_settings", args=[world.tenant.slug])


def test_an_owner_sets_the_chain_and_open_tickets_follow_it(client, world, bosses):
    ticket = open_ticket(world, FRIDAY_EVENING)
    assert client.login(username=f"{world.tenant.slug}-owner", password=PASSWORD)
    page = client.get(settings_url(world)).content.decode()
    assert "升级链" in page and '<option value="head_office" selected>' in page  # the default
    with time_machine.travel(at("2026-06-16 09:00"), tick=False):
        form = chain_form(("region", "50"), ("head_office", "100"))
        reply = client.post(settings_url(world), form)
    assert reply.status_code == 302
    assert stored(world)[2]["escalation"] == [
        {"percent": 50, "level": "region"},
        {"percent": 100, "level": "head_office"},
    ]
    # The new chain applies to the open ticket at once (its targets stay: 24 h, due Wednesday
    # 14:00): half of it was used before the new closures, so the region is told now.
    assert sweep(at("2026-06-16 09:01")) == 1
    assert escalations(world, ticket)[0][0] == "boss-region"


@pytest.mark.parametrize(
    ("steps", "says"),
    [
        ((("region", "80"), ("unit", "100")), "形成循环"),
        ((("unit", "100"), ("parent", "90")), "应高于上一步"),
        ((("unit", ""),), "请填写这一步的阈值"),
        ((("", "80"),), "请选择这一步升级到哪一级"),
    ],
)
def test_a_chain_that_loops_is_refused_with_a_message_and_changes_nothing(
    client, world, steps, says
):
    before = stored(world)
    assert client.login(username=f"{world.tenant.slug}-owner", password=PASSWORD)
    reply = client.post(settings_url(world), chain_form(*steps))
    assert reply.status_code == 200 and says in reply.content.decode()
    assert stored(world) == before


@pytest.mark.parametrize("who", ["agent", "viewer"])
def test_agents_and_viewers_cannot_change_the_chain(client, world, who):
    before = stored(world)
    assert client.login(username=getattr(world, who).username, password=PASSWORD)
    reply = client.post(settings_url(world), chain_form(("unit", "50")))
    assert reply.status_code == 403 and stored(world) == before


def test_the_queue_filters_escalated_tickets_and_the_ticket_shows_its_steps(client, world, bosses):
    escalated = open_ticket(world, FRIDAY_EVENING)
    calm = open_ticket(world, at("2026-06-17 10:00"))
    assert sweep(STEP_1) == 1
    assert client.login(username=world.manager.username, password=PASSWORD)
    queue = reverse("ticket_queue", args=[world.tenant.slug])
    with time_machine.travel(STEP_1, tick=False):
        everything = client.get(queue).content.decode()
        only = client.get(queue, {"escalated": "1"}).content.decode()
        detail = client.get(
            reverse("ticket_detail", args=[world.tenant.slug, escalated.number])
        ).content.decode()
    assert f'data-ticket="{calm.number}"' in everything
    assert f'data-ticket="{escalated.number}"' in only
    assert f'data-ticket="{calm.number}"' not in only
    assert "已升级 1 级" in only
    assert 'data-testid="ticket-escalation"' in detail and "已升级 1 级" in detail
    assert bosses["branch"].get_full_name() in detail


# --- through a real worker and beat ------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_beat_and_a_worker_take_an_overdue_ticket_up_the_chain_and_leave_a_paused_one(
    world, bosses, celery_worker_process, tmp_path
):
    """Tickets opened two months ago, long past every threshold whatever the hour: beat sends
    the sweep each second, the worker takes one step per run against PostgreSQL."""
    require_real_services()
    opened = timezone.now() - timedelta(days=60)
    overdue = open_ticket(world, opened)
    paused = open_ticket(world, opened)
    act(world, paused, "claim", opened + timedelta(minutes=5))
    act(world, paused, "wait_customer", opened + timedelta(minutes=10))

    def climbed():
        with tenant_context(world.tenant):
            return Ticket.objects.get(pk=overdue.pk).escalation_level == len(DEFAULT_CHAIN)

    with celery_beat(tmp_path, CEM_ESCALATION_SWEEP_SECONDS="1"):
        wait_until(climbed, timeout=90)
    steps = escalations(world, overdue)
    assert [person for person, _note in steps] == ["boss-branch", "boss-region", "boss-hq", None]
    assert len({note for _person, note in steps}) == 4  # one event per step, none twice
    with tenant_context(world.tenant):
        assert Ticket.objects.get(pk=paused.pk).escalation_level == 0
    assert escalations(world, paused) == []
