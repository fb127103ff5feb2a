"""Reads of the organisation core."""

from __future__ import annotations

import copy
import functools

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from organizations.config_version import (
    KeptRows,
    SeenVersion,
    config_version_read,
    request_seen,
    request_seen_set,
)
from organizations.db.rows import columns, fetch_one
from organizations.models import ApiKey, Membership, OrgUnit, Tenant
from organizations.tenancy import current_tenant, system_context


@functools.cache
def _api_key_sql() -> str:
    return (
        f"SELECT {columns(ApiKey, 'k')}, {columns(Tenant, 't')} "  # noqa: S608 - model names, not input
        f'FROM "{ApiKey._meta.db_table}" k JOIN "{Tenant._meta.db_table}" t '
        "ON t.id = k.tenant_id WHERE k.prefix = %s"
    )


_kept_api_keys: KeptRows[ApiKey] = KeptRows()


def api_key_tenant_kept(prefix: str | None) -> int | None:
    """The tenant of the key this process keeps under `prefix`: the configuration version a
    request presenting it should read before api_key_by_prefix."""
    return _kept_api_keys.tenant_of(prefix) if prefix else None


def api_key_by_prefix(prefix: str, *, seen: SeenVersion | None = None) -> ApiKey | None:
    """The API key with this prefix and its tenant, across tenants: the key names the tenant.
    Read on every API request: kept by the process while its tenant's configuration version
    is `seen` (organizations.config_version), otherwise in one statement."""
    kept = _kept_api_keys.get(prefix, seen)
    if kept is not None:
        return kept
    with system_context():
        found = fetch_one(_api_key_sql(), [prefix], [ApiKey, Tenant])
    if not found:
        return None
    api_key, tenant = found
    api_key.tenant = tenant
    _kept_api_keys.put(prefix, tenant.pk, seen, api_key)
    return api_key


_kept_memberships: KeptRows[Membership] = KeptRows()
_kept_org_units: KeptRows[OrgUnit] = KeptRows()


def membership_for_page(*, slug: str, user_id: int) -> Membership | None:
    """The user's active membership of the active tenant `slug`, with its tenant and unit:
    read for every signed-in page. Kept by the process while the tenant's configuration version
    holds (a membership, tenant or unit changed retires it, organizations.config_version); the
    version read is the request's (request_seen), for the rows it reads later. Each request
    gets its own copy, free to change."""
    key = (slug, user_id)
    tenant_id = _kept_memberships.tenant_of(key)
    seen = config_version_read(tenant_id) if tenant_id is not None else None
    request_seen_set(seen)
    kept = _kept_memberships.get(key, seen)
    if kept is not None:
        return _membership_copy(kept)
    with system_context():
        membership = (
            Membership.all_tenants.select_related("tenant", "org_unit")
            .filter(
                tenant__slug=slug,
                user_id=user_id,
                tenant__is_active=True,
                deactivated_at__isnull=True,  # a deactivated member is no longer let in
            )
            .first()
        )
    if membership is not None:
        _kept_memberships.put(key, membership.tenant_id, seen, _membership_copy(membership))
    return membership


def _membership_copy(membership: Membership) -> Membership:
    """A copy of a membership with its tenant and unit that a request may change freely: the
    rows copied, and the tenant's settings, the one mutable value among their fields."""
    copied = copy.copy(membership)
    copied.tenant = copy.copy(membership.tenant)
    copied.tenant.settings = copy.deepcopy(membership.tenant.settings)
    if membership.org_unit is not None:
        copied.org_unit = copy.copy(membership.org_unit)
    return copied


def org_unit_find(pk: int) -> OrgUnit | None:
    """The current tenant's unit `pk`, kept like the request's membership."""
    seen = request_seen()
    key = (current_tenant().pk, pk)
    kept = _kept_org_units.get(key, seen)
    if kept is not None:
        return copy.copy(kept)  # its fields are plain values: a shallow copy is a whole one
    unit = OrgUnit.objects.filter(pk=pk).first()
    if unit is not None:
        _kept_org_units.put(key, unit.tenant_id, seen, copy.copy(unit))
    return unit


def org_unit_choices() -> QuerySet[OrgUnit]:
    """The units a picker offers: the active ones, in tree order (deactivated units keep their
    data but are chosen for nothing new)."""
    return OrgUnit.objects.filter(is_active=True).order_by("path")


def org_unit_list() -> QuerySet[OrgUnit]:
    """Every unit of the tenant, deactivated ones too, in tree order, with its parent."""
    return OrgUnit.objects.select_related("parent").order_by("path")


def members_named(name: str) -> list[Membership]:
    """The tenant's members (deactivated ones too) a partner names by username or, failing
    that, by email address (any case; several people may share one)."""
    members = Membership.objects.select_related("user", "org_unit").order_by("user__username")
    return list(members.filter(user__username=name)) or list(
        members.filter(user__email__iexact=name)
    )


def org_unit_manager_choices() -> QuerySet:
    """The people who may manage a unit: the tenant's members, by username."""
    return (
        get_user_model()
        .objects.filter(
            pk__in=Membership.objects.filter(deactivated_at__isnull=True).values("user")
        )
        .order_by("username")
    )
