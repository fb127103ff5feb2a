"""Rows a process keeps for the submission paths, under the tenant's configuration version
(organizations.config_version, issue 9): a kept API key, survey and link save their reads, and
every change to them shows on the very next request."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.models import Ticket, TicketEvent
from alerts.services import ticket_reassign
from journeys.models import Touchpoint
from notifications.services import notifications_for_ticket_events, notifications_mark_all_read
from organizations.config_version import config_version_key
from organizations.members import membership_deactivate, membership_update
from organizations.models import ApiKey, Membership, OrgUnit, Role
from organizations.org_units import org_unit_update
from organizations.ratelimit import shared_redis
from organizations.services import api_key_revoke
from organizations.tenancy import tenant_context
from surveys.models import Link, Response, Survey
from surveys.services import link_update, survey_close
from tests.conftest import require_real_services
from tests.factories import PASSWORD
from tests.helpers import BAD_ANSWERS, submit_and_score

ANSWERS = {"nps_1": 3, "csat_1": 2}


@pytest.fixture(autouse=True)
def limiter_redis(db, settings):
    require_real_services()  # the versions live in the limiter's Redis
    settings.CEM_RATELIMIT_REDIS_URL = settings.REDIS_URL


def an_address() -> str:
    """A client address of this test's own: the limiter's counts outlive the test."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}"


def api_client(world) -> APIClient:
    client = APIClient(REMOTE_ADDR=an_address())
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {world.api_key_plaintext}")
    return client


def submit(client, world, **body):
    return client.post(
        f"/api/v1/surveys/{world.survey.pk}/responses/",
        {"answers": ANSWERS, **body},
        format="json",
    )


def statements(queries) -> list[str]:
    return [query["sql"] for query in queries.captured_queries]


def reads_of(model, sql: list[str]) -> list[str]:
    return [statement for statement in sql if f'FROM "{model._meta.db_table}"' in statement]


def test_a_partners_second_submission_reads_neither_key_nor_survey(world):
    client = api_client(world)
    assert submit(client, world).status_code == 201  # names the key's tenant
    assert submit(client, world).status_code == 201  # reads the version, then the rows
    with CaptureQueriesContext(connection) as queries:
        assert submit(client, world).status_code == 201
    sql = statements(queries)
    assert not reads_of(ApiKey, sql)
    assert not reads_of(Survey, sql)
    assert len([s for s in sql if 'INSERT INTO "surveys_response"' in s]) == 1


def test_a_revoked_key_is_refused_on_the_next_request(world):
    client = api_client(world)
    for _ in range(3):
        assert submit(client, world).status_code == 201
    with tenant_context(world.tenant):
        api_key_revoke(api_key=world.api_key, by=world.manager)
    assert submit(client, world).status_code == 401


def test_a_closed_survey_refuses_the_next_submission(world):
    client = api_client(world)
    for _ in range(3):
        assert submit(client, world).status_code == 201
    with tenant_context(world.tenant):
        survey_close(survey=world.survey, by=world.manager)
    reply = submit(client, world)
    assert reply.status_code == 409
    assert reply.json()["error"]["code"] == "survey_closed"


def test_a_change_announced_by_another_process_is_read_again(world):
    """Another process's write replaces the version in Redis; this one sees it at once."""
    client = api_client(world)
    for _ in range(3):
        assert submit(client, world).status_code == 201
    shared_redis().set(config_version_key(world.tenant.pk), "another-process-wrote")
    with CaptureQueriesContext(connection) as queries:
        assert submit(client, world).status_code == 201
    assert reads_of(ApiKey, statements(queries))
    assert reads_of(Survey, statements(queries))


def test_kept_rows_are_not_used_without_the_limiters_redis(world, settings):
    client = api_client(world)
    for _ in range(3):
        assert submit(client, world).status_code == 201
    settings.CEM_RATELIMIT_REDIS_URL = ""  # counting per process: no version to trust
    with CaptureQueriesContext(connection) as queries:
        assert submit(client, world).status_code == 201
    assert reads_of(ApiKey, statements(queries))
    assert reads_of(Survey, statements(queries))


def test_a_kept_survey_never_answers_for_another_tenant(world, other_world):
    mine = api_client(world)
    for _ in range(3):
        assert submit(mine, world).status_code == 201
    theirs = api_client(other_world)
    reply = theirs.post(
        f"/api/v1/surveys/{world.survey.pk}/responses/", {"answers": ANSWERS}, format="json"
    )
    assert reply.status_code == 404
    with tenant_context(other_world.tenant):
        assert not Response.objects.exists()


def respondent_form(client, url: str) -> dict:
    page = client.get(url).content.decode()
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    return {**hidden, "page": "p1", "q_nps_1": "9", "q_csat_1": "4"}


def test_a_respondents_post_through_a_kept_link_reads_no_link(world):
    client = Client(REMOTE_ADDR=an_address())
    url = reverse("respond", args=[world.branch_link.token])
    for _ in range(2):
        client.cookies.clear()
        assert client.post(url, respondent_form(client, url)).status_code == 302
    client.cookies.clear()
    data = respondent_form(client, url)
    with CaptureQueriesContext(connection) as queries:
        assert client.post(url, data).status_code == 302
    assert not reads_of(Link, statements(queries))
    with tenant_context(world.tenant):
        stored = Response.objects.filter(link=world.branch_link)
        assert stored.count() == 3
        assert set(stored.values_list("org_unit_id", flat=True)) == {world.other_branch.pk}


def test_a_link_changed_by_its_manager_shows_on_the_next_post(world):
    client = Client(REMOTE_ADDR=an_address())
    url = reverse("respond", args=[world.branch_link.token])
    for _ in range(2):
        client.cookies.clear()
        assert client.post(url, respondent_form(client, url)).status_code == 302
    client.cookies.clear()
    data = respondent_form(client, url)
    with tenant_context(world.tenant):
        link_update(
            link=world.branch_link,
            response_limit=None,
            one_response_per_device=False,
            expires_at=timezone.now() - timedelta(minutes=1),
            by=world.manager,
        )
    reply = client.post(url, data)
    assert reply.status_code == 410
    with tenant_context(world.tenant):
        assert Response.objects.filter(link=world.branch_link).count() == 2


def test_personal_links_of_a_batch_of_invitations_retire_nothing(world):
    client = shared_redis()
    key = config_version_key(world.tenant.pk)
    client.set(key, "before")
    with tenant_context(world.tenant):
        for _ in range(3):
            Link.objects.create(survey=world.survey, kind=Link.Kind.PERSONAL)
        assert client.get(key) == b"before"
        Link.objects.create(survey=world.survey, kind=Link.Kind.ANONYMOUS)
    assert client.get(key) != b"before"


# Signed-in pages: the member's membership and the unit a filter names are kept the same way.


def map_url(world, **query) -> str:
    path = reverse(
        "journey_detail", kwargs={"tenant_slug": world.tenant.slug, "journey_id": world.journey.pk}
    )
    return path + "".join(f"{'&' if i else '?'}{k}={v}" for i, (k, v) in enumerate(query.items()))


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_members_third_page_reads_neither_membership_nor_the_filtered_unit(world):
    client = signed_in(world.manager)
    url = map_url(world, unit=world.region.pk)
    for _ in range(2):  # names the tenant, then reads the version and the rows
        assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        reply = client.get(url)
    assert reply.status_code == 200
    assert world.region.name in reply.content.decode()
    sql = statements(queries)
    assert not reads_of(Membership, sql)
    assert not [s for s in reads_of(OrgUnit, sql) if '"cem_orgunit"."id" = ' in s]


def test_a_deactivated_member_is_refused_on_the_next_page(world):
    client = signed_in(world.agent)
    url = reverse("journey_map", kwargs={"tenant_slug": world.tenant.slug})
    for _ in range(3):
        assert client.get(url).status_code == 200
    with tenant_context(world.tenant):
        owner = Membership.objects.get(role=Role.OWNER).user
        membership_deactivate(membership=Membership.objects.get(user=world.agent), by=owner)
    assert client.get(url).status_code == 404


def test_a_role_taken_away_shows_on_the_next_page(world):
    client = signed_in(world.manager)
    url = reverse(
        "journey_metrics", kwargs={"tenant_slug": world.tenant.slug, "journey_id": world.journey.pk}
    )
    for _ in range(3):
        assert client.get(url).status_code == 200
    with tenant_context(world.tenant):
        owner = Membership.objects.get(role=Role.OWNER).user
        membership = Membership.objects.get(user=world.manager)
        membership_update(membership=membership, role=Role.VIEWER, org_unit=None, by=owner)
    assert client.get(url).status_code == 403


def test_a_renamed_unit_shows_on_the_next_page(world):
    client = signed_in(world.manager)
    url = map_url(world, unit=world.region.pk)
    for _ in range(3):
        assert client.get(url).status_code == 200
    with tenant_context(world.tenant):
        owner = Membership.objects.get(role=Role.OWNER).user
        region = OrgUnit.objects.get(pk=world.region.pk)
        org_unit_update(
            unit=region, name="华东大区", code=region.code, kind=region.kind, manager=None, by=owner
        )
    assert "华东大区" in client.get(url).content.decode()


def test_a_kept_membership_never_lets_a_member_into_another_tenant(world, other_world):
    client = signed_in(world.manager)
    for _ in range(3):
        assert client.get(map_url(world)).status_code == 200
    other = reverse("journey_map", kwargs={"tenant_slug": other_world.tenant.slug})
    assert client.get(other).status_code == 404


# Sessions and the header's unread count: read from the shared Redis, the database the record.


def session_reads(sql: list[str]) -> list[str]:
    return [statement for statement in sql if 'FROM "django_session"' in statement]


def test_a_signed_in_page_reads_its_session_from_redis_and_a_logout_ends_it(world):
    client = signed_in(world.agent)
    url = reverse("journey_map", kwargs={"tenant_slug": world.tenant.slug})
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert not session_reads(statements(queries))
    cookie = client.cookies["sessionid"].value
    assert client.post(reverse("logout")).status_code == 302
    stolen = Client()
    stolen.cookies["sessionid"] = cookie
    assert stolen.get(url).status_code == 302  # to the login page: the session is gone


def test_with_redis_down_sessions_come_from_the_database(world, settings):
    settings.CEM_RATELIMIT_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    client = Client()
    assert client.login(username=world.agent.username, password=PASSWORD)
    url = reverse("journey_map", kwargs={"tenant_slug": world.tenant.slug})
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert session_reads(statements(queries))


def unread_badge(client, world) -> str:
    page = client.get(reverse("journey_map", kwargs={"tenant_slug": world.tenant.slug}))
    found = re.search(r'<span class="badge">(\d+) 条未读</span>', page.content.decode())
    return found.group(1) if found else "0"


def notification_reads(sql: list[str]) -> list[str]:
    return [statement for statement in sql if 'FROM "notifications_notification"' in statement]


def test_the_unread_count_is_kept_and_every_change_shows_on_the_next_page(
    world, django_capture_on_commit_callbacks
):
    client = signed_in(world.agent)
    for _ in range(2):
        assert unread_badge(client, world) == "0"
    with CaptureQueriesContext(connection) as queries:
        assert unread_badge(client, world) == "0"
    assert not notification_reads(statements(queries))
    response = submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant), django_capture_on_commit_callbacks(execute=True):
        ticket = Ticket.objects.get(response=response)
        ticket_reassign(ticket=ticket, to=world.agent, reason="就近处理", by=world.manager)
    assert unread_badge(client, world) == "1"
    with tenant_context(world.tenant):
        notifications_mark_all_read(user=world.agent)
    assert unread_badge(client, world) == "0"
    with tenant_context(world.tenant):  # an escalation reaching the agent: nothing audited
        event = TicketEvent.objects.create(
            ticket=ticket, kind=TicketEvent.Kind.ESCALATED, to_user=world.agent
        )
    notifications_for_ticket_events(event_ids=[event.pk])
    assert unread_badge(client, world) == "1"


def test_the_dashboard_keeps_the_touchpoint_catalogue_until_a_touchpoint_changes(world):
    client = signed_in(world.manager)
    url = reverse("dashboard", kwargs={"tenant_slug": world.tenant.slug}) + "?days=30"
    url += f"&journey={world.journey.pk}"
    for _ in range(2):
        assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert "网点柜台" in client.get(url).content.decode()
    assert not reads_of(Touchpoint, statements(queries))
    with tenant_context(world.tenant):
        touchpoint = Touchpoint.objects.get(pk=world.touchpoint.pk)
        touchpoint.name = "网点柜台（新）"
        touchpoint.save(update_fields=["name"])  # no service, no audit: the watch alone
    assert "网点柜台（新）" in client.get(url).content.decode()
