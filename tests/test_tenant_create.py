"""A new tenant: the core makes its root unit and owner, each app installs its own defaults."""

from django.contrib.auth import get_user_model

from alerts.models import AlertRule, RootCause
from organizations.models import Membership, OrgUnit, Role
from organizations.services import tenant_create
from organizations.signals import tenant_created
from organizations.tenancy import current_tenant_or_none, tenant_context


def test_new_tenant_has_its_root_unit_its_owner_and_the_alert_defaults(db):
    owner = get_user_model().objects.create_user(username="founder", password="x" * 12)
    tenant = tenant_create(slug="new-bank", name="新银行", owner=owner)
    with tenant_context(tenant):
        assert list(OrgUnit.objects.values_list("code", "kind")) == [("HQ", OrgUnit.Kind.HQ)]
        assert Membership.objects.get().role == Role.OWNER
        assert AlertRule.objects.count() == 1
        assert RootCause.objects.exists()


def test_apps_receive_the_new_tenant_as_the_current_tenant(db):
    seen = []

    def receiver(sender, tenant, **kwargs):
        seen.append((tenant.slug, current_tenant_or_none()))

    tenant_created.connect(receiver)
    try:
        tenant = tenant_create(slug="signal-bank", name="信号银行")
    finally:
        tenant_created.disconnect(receiver)
    assert seen == [("signal-bank", tenant)]
