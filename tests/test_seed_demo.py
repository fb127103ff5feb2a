"""`manage.py seed_demo` builds a realistic bank tenant through the services, exactly once."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from alerts.models import OPEN_STATUSES, Ticket, TicketContact, TicketEvent, TicketStatus
from analytics.models import ResponseScore
from journeys.models import Journey, Touchpoint
from organizations.models import AuditEvent, Membership, OrgUnit, Tenant
from organizations.tenancy import system_context, tenant_context
from surveys.models import Invitation, Link, Response, Survey

COUNTED = (
    OrgUnit,
    Membership,
    Journey,
    Touchpoint,
    Survey,
    Link,
    Response,
    ResponseScore,
    Ticket,
    TicketEvent,
    AuditEvent,
)


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def snapshot(tenant: Tenant) -> dict:
    with tenant_context(tenant):
        counts = {model.__name__: model.objects.count() for model in COUNTED}
        statuses = sorted(Ticket.objects.values_list("number", "status"))
    return {**counts, "ticket statuses": statuses, "users": get_user_model().objects.count()}


@pytest.mark.django_db
def test_seed_demo_creates_a_realistic_bank_tenant_once():
    output = seed(responses=60)

    tenant = Tenant.objects.get(slug="demo-bank")
    assert "manager / demo1234" in output
    with tenant_context(tenant):
        kinds = sorted(OrgUnit.objects.values_list("kind", flat=True))
        assert kinds == ["branch"] * 4 + ["hq"] + ["region"] * 2
        assert Journey.objects.count() == 2
        assert len(set(Touchpoint.objects.values_list("channel", flat=True))) >= 4
        surveys = Survey.objects.all()
        assert len(surveys) >= 3
        assert all(s.status == Survey.Status.PUBLISHED and s.live_version_id for s in surveys)
        assert Membership.objects.get(user__username="agent").org_unit.code == "SH-PD"
        # Link and QR responses as asked, plus the answers to SMS invitations.
        assert Response.objects.exclude(link__kind="personal").count() == 60
        assert Invitation.objects.filter(status="completed").count() > 0
        assert ResponseScore.objects.count() == Response.objects.count()
        assert Response.objects.filter(org_unit__kind=OrgUnit.Kind.BRANCH).exists()
        assert Ticket.objects.filter(status__in=OPEN_STATUSES).exists()
        assert Ticket.objects.filter(status=TicketStatus.CLOSED).exists()
        # Resolved tickets show the agent's contact with the customer (customer recovery).
        resolved = Ticket.objects.filter(events__to_status=TicketStatus.RESOLVED).distinct()
        assert TicketContact.objects.count() == resolved.count() > 0
    before = snapshot(tenant)

    again = seed(responses=60)

    assert "已存在" in again
    assert snapshot(tenant) == before


@pytest.mark.django_db
def test_seed_demo_reset_deletes_the_demo_tenant_and_seeds_it_afresh():
    seed(responses=12)
    old = Tenant.objects.get(slug="demo-bank")
    with tenant_context(old):  # a project protects its root cause; the reset still goes through
        from alerts.models import RootCause
        from improvements.models import ImprovementProject

        ImprovementProject.objects.create(
            title="x", level="process", root_cause=RootCause.objects.first()
        )

    output = seed(responses=8, reset=True)

    tenant = Tenant.objects.get(slug="demo-bank")
    assert tenant.pk != old.pk
    assert "已删除" in output
    with system_context():
        assert not Response.all_tenants.filter(tenant_id=old.pk).exists()
    with tenant_context(tenant):
        assert Response.objects.exclude(link__kind="personal").count() == 8
        assert ResponseScore.objects.count() == Response.objects.count()
        assert OrgUnit.objects.count() == 7
