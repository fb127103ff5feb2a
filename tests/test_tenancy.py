"""Tenant scoping is safe by default: no tenant, no rows; keys lead with tenant_id."""

import pytest
from django.apps import apps
from django.db.models import UniqueConstraint

from organizations.models import OrgUnit
from organizations.tenancy import TenantNotSetError, TenantOwnedModel, tenant_context
from surveys.models import Survey

# Indexes that serve system jobs across all tenants, on purpose.
CROSS_TENANT_INDEXES = {"response_received"}


def test_scoped_manager_raises_when_no_tenant_is_set(db):
    with pytest.raises(TenantNotSetError):
        list(Survey.objects.all())


def test_scoped_manager_returns_only_the_current_tenants_rows(world, other_world):
    with tenant_context(world.tenant):
        assert list(Survey.objects.all()) == [world.survey]
    with tenant_context(other_world.tenant):
        assert list(Survey.objects.all()) == [other_world.survey]
        assert not Survey.objects.filter(pk=world.survey.pk).exists()


def test_new_rows_take_the_current_tenant(world):
    with tenant_context(world.tenant):
        unit = OrgUnit.objects.create(name="新网点", code="NEW", kind="branch")
    assert unit.tenant_id == world.tenant.pk


def test_org_unit_subtree_is_one_prefix_query(world):
    with tenant_context(world.tenant):
        subtree = OrgUnit.objects.filter(path__startswith=world.region.path)
        assert set(subtree) == {world.region, world.branch, world.other_branch}


def tenant_models():
    return [model for model in apps.get_models() if issubclass(model, TenantOwnedModel)]


@pytest.mark.parametrize("model", tenant_models(), ids=lambda model: model._meta.label)
def test_every_index_and_unique_constraint_leads_with_tenant(model):
    for index in model._meta.indexes:
        if index.name not in CROSS_TENANT_INDEXES:
            assert index.fields[0] == "tenant", f"{model._meta.label} index {index.name}"
    for constraint in model._meta.constraints:
        if not isinstance(constraint, UniqueConstraint):
            continue  # a check constraint is of one row: no index to lead
        assert constraint.fields[0] == "tenant", f"{model._meta.label} constraint {constraint.name}"
