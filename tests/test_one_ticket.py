"""One ticket per response: every rule the response matches is listed on it, the highest
priority and the shortest SLA win, later matches join it, risk signals make it urgent, two
workers leave one ticket, and the migration merges the duplicates the old shape made."""

import re
import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alerts.models import AlertRule, Ticket, TicketEvent, TicketRule
from alerts.services import RISK_SLA_HOURS, alert_rule_create, ticket_open_for_score
from analytics.models import ResponseScore
from analytics.services import response_score
from organizations.business_hours import tenant_calendar, working_minutes_between
from organizations.db.guard import owner_session
from organizations.tenancy import tenant_context
from surveys.models import Response
from tests.factories import PASSWORD
from tests.helpers import BAD_ANSWERS, GOOD_ANSWERS, submit_and_score

DETRACTOR = {"fact": "nps", "op": "lte", "value": 6}
LOW_CSAT = {"fact": "csat", "op": "lte", "value": 2}
THREAT = "卡被冻结了，再不解冻就投诉到银保监会"
PROMOTER = {"nps_1": 9, "csat_1": 4}


def rule_on(world, leaf: dict, *, name: str, priority: str, sla_hours: int) -> AlertRule:
    with tenant_context(world.tenant):
        return alert_rule_create(
            name=name,
            conditions={"all": [leaf]},
            priority=priority,
            sla_hours=sla_hours,
            by=world.manager,
        )


def default_rule(world) -> AlertRule:
    """The rule every tenant starts with (alert_defaults_install), its first."""
    with tenant_context(world.tenant):
        return AlertRule.objects.order_by("id").first()


def no_default_rule(world) -> None:
    with tenant_context(world.tenant):
        AlertRule.objects.update(is_active=False)


def rescore(response) -> None:
    """What a new model version does: the response is scored again and rules react."""
    with tenant_context(response.tenant):
        ResponseScore.objects.filter(response=response).update(model_version="old")
    response_score(response_id=response.pk)


def hours_given(ticket: Ticket) -> float:
    """The working hours (the tenant's calendar) from the ticket's opening to its due time."""
    calendar = tenant_calendar(ticket.tenant)
    return working_minutes_between(calendar, ticket.created_at, ticket.sla_due_at) / 60


def test_two_matching_rules_open_one_ticket_listing_both_with_the_highest_priority_and_shortest_sla(
    world,
):
    default = default_rule(world)  # high, 24 h
    quick = rule_on(world, DETRACTOR, name="贬损者 8 小时内回访", priority="normal", sla_hours=8)
    response = submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant):
        ticket = Ticket.objects.get(response=response)
        assert list(ticket.rules.all()) == [default, quick]
        assert ticket.priority == "high"
        assert hours_given(ticket) == 8
        created = ticket.events.get()
        assert created.kind == "created"
        assert default.name in created.note and quick.name in created.note


def test_a_rule_matching_at_a_rescore_joins_the_ticket_raising_priority_and_due_time(world):
    default = default_rule(world)
    response = submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant):
        before = Ticket.objects.get(response=response)
    urgent = rule_on(world, LOW_CSAT, name="满意度极低", priority="urgent", sla_hours=2)
    rescore(response)
    with tenant_context(world.tenant):
        ticket = Ticket.objects.get(response=response)
        assert ticket.pk == before.pk and ticket.number == before.number
        assert list(ticket.rules.all()) == [default, urgent]
        assert ticket.priority == "urgent"
        assert ticket.sla_due_at < before.sla_due_at
        joined = ticket.events.get(kind="matched")
        assert urgent.name in joined.note
        assert list(ticket.events.values_list("kind", flat=True)) == ["created", "matched"]


def test_a_later_rule_never_lowers_the_priority_nor_delays_the_due_time(world):
    response = submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant):
        before = Ticket.objects.get(response=response)
    slow = rule_on(world, DETRACTOR, name="贬损者周报", priority="low", sla_hours=24 * 7)
    rescore(response)
    rescore(response)
    with tenant_context(world.tenant):
        ticket = Ticket.objects.get(response=response)
        assert slow in ticket.rules.all()
        assert (ticket.priority, ticket.sla_due_at) == (before.priority, before.sla_due_at)
        assert ticket.events.filter(kind="matched").count() == 1
        assert TicketRule.objects.filter(ticket=ticket).count() == 2


def test_a_risk_signal_makes_the_ticket_urgent_with_the_short_sla(world):
    default = default_rule(world)
    response = submit_and_score(world, {**BAD_ANSWERS, "text_1": THREAT})
    with tenant_context(world.tenant):
        ticket = Ticket.objects.get(response=response)
        assert list(ticket.rules.all()) == [default]
        assert ticket.priority == "urgent"
        assert hours_given(ticket) == RISK_SLA_HOURS == 4
        assert "监管投诉" in ticket.events.get().note


def test_a_risk_signal_alone_opens_a_ticket_and_the_tenant_may_shorten_its_sla(world):
    no_default_rule(world)
    world.tenant.settings = {"risk_sla_hours": 2}
    world.tenant.save()
    calm = submit_and_score(world, {**PROMOTER, "text_1": "办理很顺利"})
    threat = submit_and_score(world, {**PROMOTER, "text_1": THREAT})
    with tenant_context(world.tenant):
        ticket = Ticket.objects.get()
        assert ticket.response_id == threat.pk != calm.pk
        assert list(ticket.rules.all()) == []
        assert ticket.priority == "urgent" and hours_given(ticket) == 2


def test_churn_alone_is_left_to_the_rules(world):
    no_default_rule(world)
    submit_and_score(world, {**PROMOTER, "text_1": "再这样我就销户，换一家银行"})
    with tenant_context(world.tenant):
        assert not Ticket.objects.exists()


def test_the_database_holds_one_ticket_per_response(world):
    response = submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant):
        ticket = Ticket.objects.get(response=response)
        with pytest.raises(IntegrityError), transaction.atomic():
            Ticket.objects.create(
                number=ticket.number + 1, response=response, sla_due_at=ticket.sla_due_at
            )


@pytest.mark.django_db(transaction=True)
def test_two_workers_scoring_one_response_at_once_leave_one_ticket(world):
    """The first worker opens the ticket and holds its transaction until the second one waits
    on a lock; then it commits, and the second must join the ticket, not open another."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locks")
    no_default_rule(world)
    rule_on(world, DETRACTOR, name="贬损者", priority="normal", sla_hours=8)
    response = submit_and_score(world, GOOD_ANSWERS)  # scored, no ticket yet
    with tenant_context(world.tenant):
        ResponseScore.objects.filter(response=response).update(nps=3, nps_category="detractor")
    opened = threading.Event()
    release = threading.Event()
    failures = []

    def worker(hold: bool) -> None:
        try:
            with tenant_context(world.tenant), transaction.atomic():
                score = ResponseScore.objects.select_related("response").get(response=response)
                ticket_open_for_score(score=score)
                if hold:
                    opened.set()
                    assert release.wait(30)
        except Exception as error:  # reported by the main thread
            failures.append(error)
        finally:
            opened.set()
            connection.close()

    first = threading.Thread(target=worker, args=(True,))
    first.start()
    assert opened.wait(30)
    second = threading.Thread(target=worker, args=(False,))
    second.start()
    deadline = timezone.now() + timedelta(seconds=30)
    with connection.cursor() as cursor:
        while timezone.now() < deadline:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                break
    waited = timezone.now() < deadline
    release.set()
    first.join(30)
    second.join(30)
    assert not failures
    assert waited, "the second worker never waited on the first"
    with tenant_context(world.tenant):
        ticket = Ticket.objects.get()
        assert ticket.response_id == response.pk
        assert TicketRule.objects.count() == 1
        assert list(ticket.events.values_list("kind", flat=True)) == ["created"]


def test_a_rule_of_one_tenant_never_joins_another_tenants_ticket(world, other_world):
    everything = {"fact": "nps", "op": "gte", "value": 0}
    rule_on(world, everything, name="A 的全量规则", priority="urgent", sla_hours=1)
    response = submit_and_score(other_world, BAD_ANSWERS)
    with tenant_context(other_world.tenant):
        ticket = Ticket.objects.get(response=response)
        assert list(ticket.rules.all()) == [default_rule(other_world)]
        assert ticket.priority == "high"
    if connection.vendor == "postgresql":  # the database refuses it too
        rule_of_a = default_rule(world)
        with (
            tenant_context(other_world.tenant),
            pytest.raises(IntegrityError),
            transaction.atomic(),
        ):
            TicketRule.objects.create(ticket=ticket, rule_id=rule_of_a.pk)
            with connection.cursor() as cursor:  # check the deferred keys now, not at commit
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


# --- Pages and API ---------------------------------------------------------------------------


def page(client, world, name, **kwargs) -> str:
    assert client.login(username=world.manager.username, password=PASSWORD)
    target = reverse(name, kwargs={"tenant_slug": world.tenant.slug, **kwargs})
    return client.get(target).content.decode()


def test_the_queue_and_the_ticket_show_every_rule_and_the_priority(client, world):
    rule_on(world, DETRACTOR, name="贬损者 8 小时内回访", priority="urgent", sla_hours=8)
    submit_and_score(world, BAD_ANSWERS)
    queue = page(client, world, "ticket_queue")
    detail = page(client, world, "ticket_detail", number=1)
    for html in (queue, detail):
        assert "默认预警" in html and "贬损者 8 小时内回访" in html
        assert "紧急" in html


def test_a_ticket_opened_by_a_risk_signal_alone_shows_the_signal_in_place_of_rules(client, world):
    no_default_rule(world)
    submit_and_score(world, {**PROMOTER, "text_1": THREAT})
    queue = page(client, world, "ticket_queue")
    cell = re.search(r'<span data-testid="ticket-rules">(.*?)</span>\s*</td>', queue, re.S)
    assert cell and "监管投诉" in cell.group(1)
    assert "紧急" in queue


def test_the_queue_runs_the_same_queries_for_one_ticket_or_many(client, world):
    rule_on(world, DETRACTOR, name="贬损者", priority="normal", sla_hours=8)
    submit_and_score(world, BAD_ANSWERS)
    page(client, world, "ticket_queue")  # warm the caches a first page fills

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            page(client, world, "ticket_queue")
        return len(captured)

    few = queries()
    for _ in range(3):
        submit_and_score(world, BAD_ANSWERS)
    assert queries() == few


def test_the_api_lists_the_rules_and_keeps_the_first_as_rule(world):
    from rest_framework.test import APIClient

    quick = rule_on(world, DETRACTOR, name="贬损者", priority="normal", sla_hours=8)
    submit_and_score(world, BAD_ANSWERS)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {world.api_key_plaintext}")
    (ticket,) = client.get("/api/v1/tickets/").json()["results"]
    assert ticket["rules"] == [default_rule(world).name, quick.name]
    assert ticket["rule"] == default_rule(world).name
    assert ticket["priority"] == "high"


# --- The migration ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_merges_the_tickets_of_one_response_keeping_their_history(world):
    """Tickets made in the old shape (one per rule) for one response become the earliest one,
    listing both rules, with the history of both in order and an event naming the merged."""
    response = submit_and_score(world, GOOD_ANSWERS)
    alone = submit_and_score(world, GOOD_ANSWERS)
    default = default_rule(world)
    old = ("alerts", "0002_core_models_in_organizations")  # before one ticket per response
    with owner_session():
        executor = MigrationExecutor(connection)
        executor.migrate([old])
        apps = executor.loader.project_state([old]).apps
        OldRule = apps.get_model("alerts", "AlertRule")
        OldTicket = apps.get_model("alerts", "Ticket")
        OldEvent = apps.get_model("alerts", "TicketEvent")
        tenant = world.tenant.pk
        urgent = OldRule.objects.create(
            tenant_id=tenant, name="监管投诉", conditions={}, priority="urgent", sla_hours=4
        )
        t0 = timezone.now() - timedelta(days=2)
        first = OldTicket.objects.create(
            tenant_id=tenant,
            number=1,
            response_id=response.pk,
            rule_id=default.pk,
            status="closed",
            priority="high",
            sla_due_at=t0 + timedelta(hours=24),
            created_at=t0,
            updated_at=t0 + timedelta(hours=3),
            closed_at=t0 + timedelta(hours=3),
        )
        second = OldTicket.objects.create(
            tenant_id=tenant,
            number=2,
            response_id=response.pk,
            rule_id=urgent.pk,
            status="in_progress",
            priority="urgent",
            sla_due_at=t0 + timedelta(hours=4),
            created_at=t0 + timedelta(seconds=1),
            updated_at=t0 + timedelta(hours=1),
        )
        single = OldTicket.objects.create(
            tenant_id=tenant,
            number=3,
            response_id=alone.pk,
            rule_id=default.pk,
            sla_due_at=t0 + timedelta(hours=24),
            created_at=t0,
            updated_at=t0,
        )
        history = [
            (first, "created", "", t0),
            (second, "created", "", t0 + timedelta(seconds=1)),
            (second, "claimed", "", t0 + timedelta(minutes=30)),
            (first, "status", "已电话致歉", t0 + timedelta(hours=3)),
            (single, "created", "", t0),
        ]
        for ticket, kind, note, at in history:
            OldEvent.objects.create(tenant_id=tenant, ticket=ticket, kind=kind, note=note, at=at)
        executor = MigrationExecutor(connection)  # the graph, as it is after going back
        executor.migrate(executor.loader.graph.leaf_nodes())
    with tenant_context(world.tenant):
        merged = Ticket.objects.get(response=response)
        assert merged.pk == first.pk and merged.number == 1
        assert [r.name for r in merged.rules.all()] == [default.name, "监管投诉"]
        assert merged.priority == "urgent"
        assert merged.sla_due_at == t0 + timedelta(hours=4)
        assert merged.status == "in_progress" and merged.closed_at is None
        events = list(merged.events.order_by("at", "id"))
        assert [(e.kind, e.at) for e in events[:-1]] == [
            ("created", t0),
            ("created", t0 + timedelta(seconds=1)),
            ("claimed", t0 + timedelta(minutes=30)),
            ("status", t0 + timedelta(hours=3)),
        ]
        assert "#2" in events[1].note and events[3].note == "已电话致歉"
        assert events[-1].kind == TicketEvent.Kind.MERGED and "#2" in events[-1].note
        assert not Ticket.objects.filter(number=2).exists()
        kept = Ticket.objects.get(response=alone)
        assert list(kept.rules.all()) == [default]
        assert list(kept.events.values_list("kind", flat=True)) == ["created"]


def test_a_response_without_an_org_unit_opens_a_ticket_in_the_tenants_top_queue(world):
    """Neither its link nor its touchpoint names a unit: the ticket is the head office's to
    route, never nobody's."""
    with tenant_context(world.tenant):
        response = Response.objects.create(
            survey=world.survey,
            version=world.survey.live_version,
            touchpoint=None,
            org_unit=None,
            answers={"nps_1": 0, "text_1": "太差了，我要投诉"},
            submitted_at=timezone.now(),
            status=Response.Status.COMPLETE,
        )
        response_score(response_id=response.pk)
        assert Ticket.objects.get(response=response).org_unit_id == world.hq.pk
