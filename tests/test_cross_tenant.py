"""Isolation: every page and API endpoint, walked from the URL map, refuses another tenant.

A user or key of tenant B asking for tenant A's objects gets 404 (or 403), and lists never
contain A's rows. A new URL pattern fails this test until it is covered here.
"""

import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.models import AlertRule, RootCause, Ticket, TicketEvent
from analytics.external_posts import external_posts_analyze
from analytics.models import ExportJob, ExternalPost, MetricAlert, ReportSchedule
from improvements.models import ImprovementProject, Level
from notifications.models import Notification
from organizations.members import INVITATION_LIFETIME, invitation_token_hash
from organizations.models import MemberInvitation, OrgUnitImport, Role
from organizations.spreadsheets import XLSX_TYPE
from organizations.tenancy import system_context, tenant_context
from tests.factories import PASSWORD, member
from tests.helpers import BAD_ANSWERS, submit_and_score
from tests.test_reports import pdf_text, xlsx_sheets

A_INVITEE = "a-invitee@example.com"

# Patterns that are public or not tenant data, each with the reason.
NOT_TENANT_SCOPED = {
    "home": "tenant picker: lists only the user's own memberships",
    "healthz": "liveness probe",
    "login": "authentication",
    "logout": "authentication",
    "set_language": "language switch",
    "respond": "public survey page: the unguessable link token names the tenant",
    "respond_thanks": "public thank-you page of a link token",
    "unsubscribe": "public: a signed token names the customer and its tenant",
    "api_schema": "OpenAPI document, no tenant data",
    "api_docs": "API docs page, no tenant data",
    "password_change": "the signed-in person's own account",
    "password_change_done": "the signed-in person's own account",
    "password_reset": "public: emails a reset link to the account of that address",
    "password_reset_done": "public confirmation page, no data",
    "password_reset_confirm": "public: Django's signed reset token names the account",
    "password_reset_complete": "public confirmation page, no data",
    "invitation_accept": "public: the unguessable invitation token names the tenant",
    "signup": "public, off unless the operator opens it: creates a new tenant",
}


def url_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if route.startswith("admin/"):
                continue  # Django's staff-only admin, no tenant models registered
            yield from url_patterns(pattern, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.name


def fill(route: str, values: dict) -> str:
    if route.startswith("api/v1/responses/"):
        values = {**values, "pk": values["response_pk"]}

    def replace(match):
        name = match.group(1).split(":")[-1]
        if name not in values:
            raise AssertionError(f"no cross-tenant value for <{name}> in {route}; add one")
        return str(values[name])

    return "/" + re.sub(r"<([^>]+)>", replace, route)


ALL_ROUTES = list(url_patterns())
PAGE_ROUTES = [(r, n) for r, n in ALL_ROUTES if r.startswith("t/")]
API_ROUTES = [(r, n) for r, n in ALL_ROUTES if r.startswith("api/") and n not in NOT_TENANT_SCOPED]


def test_every_url_pattern_is_covered():
    covered = {n for _r, n in PAGE_ROUTES + API_ROUTES} | set(NOT_TENANT_SCOPED)
    assert {n for _r, n in ALL_ROUTES} <= covered


@pytest.fixture
def a_ids(world, other_world):
    submit_and_score(world, BAD_ANSWERS)
    response = submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant):
        rule_id = AlertRule.objects.get().pk  # A's default rule
        invitation = MemberInvitation.objects.create(
            email=A_INVITEE,
            role=Role.AGENT,
            token_hash=invitation_token_hash("a-invitation"),
            expires_at=timezone.now() + INVITATION_LIFETIME,
        )
        import_job = OrgUnitImport.objects.create(file_name="a.csv", created_by=world.manager)
        export = ExportJob.objects.create(format="csv", status="done", created_by=world.manager)
        export.file.save("a.csv", ContentFile(world.survey.name.encode()))
        ticket = Ticket.objects.get(response=response)
        project = ImprovementProject.objects.create(title="A 的改进项目", level=Level.PROCESS)
        cause_id = RootCause.objects.order_by("pk").values_list("pk", flat=True).first()
        post = ExternalPost.objects.create(
            source="黑猫投诉",
            source_id="a-1",
            text=f"{world.tenant.name}网点：柜员态度差",
            posted_at=timezone.now(),
        )
        metric_alert = MetricAlert.objects.create(
            org_unit=world.branch,
            touchpoint=world.touchpoint,
            window_start=timezone.localdate() - timedelta(days=7),
            window_end=timezone.localdate() - timedelta(days=1),
            answers=64,
            value=-10.0,
            baseline=40.0,
            lower_limit=10.0,
            history_answers=720,
            dispersion=1.0,
        )
        schedule = ReportSchedule.objects.create(
            name="A 的周报", per_unit_kind="branch", created_by=world.manager
        )
        notification = Notification.objects.create(
            recipient=world.manager,
            kind=Notification.Kind.REASSIGNED,
            ticket=ticket,
            event=TicketEvent.objects.create(ticket=ticket, kind=TicketEvent.Kind.REASSIGNED),
        )
    return {
        "tenant_slug": world.tenant.slug,
        "survey_id": world.survey.pk,
        "link_id": world.link.pk,
        "number": 2,  # tenant A has tickets 1 and 2; B has none
        "key_id": world.api_key.pk,
        "key": "nps_1",
        "pk": world.survey.pk,
        "response_pk": response.pk,
        "response_id": response.pk,
        "rule_id": rule_id,
        "journey_id": world.journey.pk,
        "membership_id": member(world.agent, world.tenant).pk,
        "invitation_id": invitation.pk,
        "touchpoint_id": world.touchpoint.pk,
        "unit_id": world.branch.pk,
        "job_id": import_job.pk,
        "export_id": export.pk,
        "notification_id": notification.pk,
        "project_id": project.pk,
        "cause_id": cause_id,
        "external_post_id": post.pk,
        "alert_id": metric_alert.pk,
        "schedule_id": schedule.pk,
    }


def request_as(client, url):
    reply = client.get(url)
    if reply.status_code == 405:
        reply = client.post(url, {"action": "claim", "name": "x", "note": "x"})
    return reply


def body(reply) -> str:
    """A page's text, streamed (the exports) or not; of a PDF or Excel report, the text in it."""
    if reply.streaming:
        return b"".join(reply.streaming_content).decode("utf-8", errors="replace")
    if reply.get("Content-Type") == "application/pdf":
        return pdf_text(reply.content)
    if reply.get("Content-Type") == XLSX_TYPE:
        sheets = xlsx_sheets(reply.content).values()
        return "\n".join(str(cell) for rows in sheets for row in rows for cell in row)
    return reply.content.decode()


def a_markers(world) -> list[str]:
    """Strings that only tenant A's rows contain."""
    return [
        world.tenant.name,
        world.survey.name,
        world.journey.name,
        world.touchpoint.stage.name,
        A_INVITEE,
        world.agent.username,
        "A 的改进项目",
        "A 的周报",
    ]


def test_user_of_other_tenant_gets_404_for_every_tenant_a_page(client, world, other_world, a_ids):
    client.login(username=other_world.manager.username, password=PASSWORD)
    leaks = {}
    for route, name in PAGE_ROUTES:
        status = request_as(client, fill(route, a_ids)).status_code
        if status != 404:
            leaks[name] = status
    assert leaks == {}


def test_tenant_b_pages_never_show_tenant_a_objects(client, world, other_world, a_ids):
    """B's owner in B's own tenant asking for A's ids gets 404; pages without ids show B only."""
    client.login(username=f"{other_world.tenant.slug}-owner", password=PASSWORD)
    leaks = {}
    for route, name in PAGE_ROUTES:
        reply = request_as(client, fill(route, {**a_ids, "tenant_slug": other_world.tenant.slug}))
        if re.search(r"<(?!slug:tenant_slug)", route):
            if reply.status_code != 404:
                leaks[name] = reply.status_code
        elif reply.status_code not in (200, 302):
            leaks[name] = reply.status_code
        elif any(marker in body(reply) for marker in a_markers(world)):
            leaks[name] = "shows tenant A's rows"
    assert leaks == {}


@pytest.fixture
def b_api(other_world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {other_world.api_key_plaintext}")
    return client


def test_key_of_other_tenant_gets_404_or_only_its_own_rows(b_api, world, other_world, a_ids):
    leaks = {}
    for route, name in API_ROUTES:
        url = fill(route, a_ids)
        if "<" in route:
            for method in ("get", "post", "patch", "put"):
                reply = getattr(b_api, method)(
                    url, {"action": "claim", "answers": {}}, format="json"
                )
                if reply.status_code not in (404, 405):
                    leaks[f"{name} {method}"] = reply.status_code
        else:
            reply = b_api.get(url)
            if reply.status_code == 405:
                continue  # write-only (events): see test_events_of_b_stay_in_b
            if reply.status_code != 200:
                leaks[name] = reply.status_code
            elif any(marker in reply.content.decode() for marker in a_markers(world)):
                leaks[name] = "lists tenant A's rows"
    assert leaks == {}


def test_b_ticket_list_api_does_not_contain_a_tickets(b_api, world, other_world, a_ids):
    assert b_api.get("/api/v1/tickets/").json()["results"] == []


def test_events_of_b_stay_in_b(b_api, world, other_world):
    from integrations.models import InboundEvent

    body = {"id": "x1", "type": "account.opened", "customer": {"id": "C1"}, "touchpoint": "counter"}
    assert b_api.post("/api/v1/events/", body, format="json").status_code == 202
    with system_context():
        tenants = list(InboundEvent.all_tenants.values_list("tenant_id", flat=True))
    assert tenants == [other_world.tenant.pk]


def test_tenant_b_never_sees_tenant_a_external_posts(client, world, other_world, a_ids):
    external_posts_analyze(post_ids=[a_ids["external_post_id"]])
    client.login(username=f"{other_world.tenant.slug}-owner", password=PASSWORD)
    slug = other_world.tenant.slug
    for path in (
        f"/t/{slug}/text-analytics/?source=external",
        f"/t/{slug}/text-analytics/?source=external&target=柜员&opinion=态度差",
        f"/t/{slug}/text-analytics/external-posts/",
    ):
        reply = client.get(path)
        assert reply.status_code == 200, path
        assert world.tenant.name not in reply.content.decode(), path


def test_external_posts_of_b_stay_in_b_and_never_meet_a_ids(b_api, world, other_world, a_ids):
    """B sends A's source and id with another text: no conflict with A's post, a row of B's."""
    body = {"source": "黑猫投诉", "id": "a-1", "text": "网点排队太久"}
    reply = b_api.post("/api/v1/external-posts/", body, format="json")
    assert reply.status_code == 202 and reply.json()["results"][0]["status"] == "created"
    with system_context():
        rows = sorted(ExternalPost.all_tenants.values_list("tenant_id", "text"))
    assert rows == sorted(
        [
            (world.tenant.pk, f"{world.tenant.name}网点：柜员态度差"),
            (other_world.tenant.pk, "网点排队太久"),
        ]
    )


def test_b_sync_lists_hold_only_b_rows(b_api, world, other_world, a_ids):
    """A's responses, tickets, history, root causes and org units never reach B's key, even
    where both tenants use the same names and codes."""
    from alerts.models import RootCause
    from organizations.services import org_unit_create

    with tenant_context(world.tenant):
        org_unit_create(name="A 专属网点", code="A-ONLY", kind="branch", parent=world.region)
        RootCause.objects.create(name="A 专属原因", level=RootCause.Level.PROCESS)
    assert b_api.get("/api/v1/responses/").json()["results"] == []
    assert b_api.get("/api/v1/tickets/?order=updated").json()["results"] == []
    assert b_api.get("/api/v1/tickets/2/events/").status_code == 404
    assert (
        b_api.post(
            "/api/v1/tickets/2/assign/",
            {"assignee": world.agent.username, "reason": "x"},
            format="json",
        ).status_code
        == 404
    )
    units = [unit["code"] for unit in b_api.get("/api/v1/org-units/").json()["results"]]
    assert units == ["HQ", "EAST", "SH-PD", "HZ-XH"]
    causes = [cause["name"] for cause in b_api.get("/api/v1/root-causes/").json()["results"]]
    assert "A 专属原因" not in causes and len(causes) == len(set(causes))
    with tenant_context(other_world.tenant):
        assert len(causes) == RootCause.objects.count()
    refused = b_api.get("/api/v1/responses/?org_unit=A-ONLY")
    assert refused.status_code == 400 and refused.json()["error"]["fields"]["org_unit"]


def test_b_analytics_and_exports_never_reach_a(client, world, other_world, a_ids):
    """The managers' pages of B: A's tickets are not counted nor exported, A's unit ids are not
    found, and bulk actions on A's ticket ids are refused."""
    client.login(username=f"{other_world.tenant.slug}-owner", password=PASSWORD)
    slug = other_world.tenant.slug
    page = client.get(f"/t/{slug}/tickets/analytics/")
    assert page.status_code == 200 and page.context["figures"].total.tickets == 0
    assert client.get(f"/t/{slug}/tickets/analytics/?unit={world.branch.pk}").status_code == 404
    for kind in ("csv", "xlsx"):
        exported = client.get(f"/t/{slug}/tickets/export/?format={kind}&unit={world.region.pk}")
        assert exported.status_code == 404
    rows = body(client.get(f"/t/{slug}/tickets/export/?format=csv")).splitlines()
    assert len(rows) == 1  # the header only
    with tenant_context(world.tenant):
        a_ticket_ids = list(Ticket.objects.values_list("pk", flat=True))
        a_events = TicketEvent.objects.count()
    refused = client.post(
        f"/t/{slug}/tickets/bulk/",
        {"action": "assign", "assignee": other_world.agent.pk, "tickets": a_ticket_ids},
    )
    assert refused.status_code == 302
    with tenant_context(world.tenant):
        assert not Ticket.objects.filter(assignee__isnull=False).exists()
        assert TicketEvent.objects.count() == a_events


def test_b_dashboard_refuses_filters_naming_a_rows(client, world, other_world, a_ids):
    """The dashboard's filters take ids: A's unit, journey, stage and touchpoint given to B's
    dashboard are refused (400), and none of A's rows is shown."""
    client.login(username=f"{other_world.tenant.slug}-owner", password=PASSWORD)
    dashboard = f"/t/{other_world.tenant.slug}/dashboard/"
    for name, value in [
        ("unit", world.branch.pk),
        ("journey", world.journey.pk),
        ("stage", world.touchpoint.stage.pk),
        ("touchpoint", world.touchpoint.pk),
    ]:
        reply = client.get(f"{dashboard}?{name}={value}")
        assert reply.status_code == 400, name
        assert not any(marker in reply.content.decode() for marker in a_markers(world)), name
