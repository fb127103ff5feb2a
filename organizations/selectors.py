"""Reads of the organisation core."""

from __future__ import annotations

import functools

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from organizations.config_version import KeptRows, SeenVersion
from organizations.db.rows import columns, fetch_one
from organizations.models import ApiKey, Membership, OrgUnit, Tenant
from organizations.tenancy import system_context


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
