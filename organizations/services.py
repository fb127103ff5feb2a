"""Writes of the platform core: tenants, org units, members, API keys, audit events."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from organizations.business_hours import (
    CALENDAR,
    CalendarError,
    calendar_document_parse,
    hours_format,
)
from organizations.models import ApiKey, AuditEvent, Membership, OrgUnit, Role, Tenant
from organizations.signals import tenant_created
from organizations.tenancy import tenant_context

Actor = AbstractBaseUser | ApiKey | None

API_KEY_PREFIX = "cem_"


def audit_record(
    *, by: Actor, action: str, target, before: dict | None = None, after: dict | None = None
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor_user=by if isinstance(by, AbstractBaseUser) else None,
        actor_api_key=by if isinstance(by, ApiKey) else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        before=before,
        after=after,
    )


@transaction.atomic
def tenant_create(*, slug: str, name: str, owner: AbstractBaseUser | None = None) -> Tenant:
    """Create a tenant with its root org unit and its owner's membership; the apps then
    install their defaults on `tenant_created`, in the same transaction and tenant context."""
    tenant = Tenant(slug=slug, name=name)
    tenant.full_clean()
    tenant.save()
    with tenant_context(tenant):
        org_unit_create(name=name, code="HQ", kind=OrgUnit.Kind.HQ, parent=None)
        if owner is not None:
            membership_create(user=owner, role=Role.OWNER, org_unit=None)
        tenant_created.send(sender=Tenant, tenant=tenant)
    return tenant


def org_unit_create(*, name: str, code: str, kind: str, parent: OrgUnit | None) -> OrgUnit:
    unit = OrgUnit(name=name, code=code, kind=kind, parent=parent)
    unit.save()
    # The path holds the unit's own id, so it can only be written once the id exists.
    unit.path = OrgUnit.child_path(parent.path if parent else "", unit.pk)
    unit.save(update_fields=["path"])
    return unit


def membership_create(
    *, user: AbstractBaseUser, role: str, org_unit: OrgUnit | None = None
) -> Membership:
    membership = Membership(user=user, role=role, org_unit=org_unit)
    membership.save()
    return membership


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    plaintext: str  # shown to the admin once, never stored


def api_key_hash(secret: str) -> str:
    # Keys carry 256 random bits, so a fast hash is as safe as a slow one and costs nothing.
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, name: str, by: AbstractBaseUser) -> IssuedApiKey:
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        name=name.strip() or "API key",
        prefix=prefix,
        secret_hash=api_key_hash(secret),
        created_by=by,
    )
    audit_record(by=by, action="api_key.create", target=api_key, after={"name": api_key.name})
    return IssuedApiKey(api_key=api_key, plaintext=f"{API_KEY_PREFIX}{prefix}_{secret}")


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, by: AbstractBaseUser) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit_record(by=by, action="api_key.revoke", target=api_key)
    return api_key


@transaction.atomic
def tenant_theme_update(*, tenant: Tenant, brand_color: str, logo_url: str, by: Actor) -> Tenant:
    """The tenant's default look for respondent pages (a survey's own theme wins)."""
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = dict(tenant.settings.get("theme", {}))
    theme = {
        name: value
        for name, value in (("brand_color", brand_color), ("logo_url", logo_url))
        if value
    }
    tenant.settings = {**tenant.settings, "theme": theme}
    tenant.save(update_fields=["settings"])
    with tenant_context(tenant):
        audit_record(by=by, action="tenant.theme", target=tenant, before=before, after=theme)
    return tenant


@transaction.atomic
def tenant_calendar_update(
    *,
    tenant: Tenant,
    time_zone: str,
    hours: list[str],
    public_holidays: bool,
    closures: list[list[str]],
    by: Actor,
) -> Tenant:
    """The tenant's working calendar (organizations/business_hours.py): its time zone (the
    calendar's own: `Tenant.time_zone` also dates the analytics rollups), hours per weekday
    (Monday first), whether mainland public holidays and make-up days apply, and
    its own closures as [first, last, note]. A calendar that does not parse, or has no working
    time in the week, is refused and changes nothing."""
    document = {"hours": hours, "public_holidays": public_holidays, "closures": closures}
    try:
        calendar = calendar_document_parse(document, time_zone=time_zone)
    except CalendarError as error:
        raise ValidationError(str(error), code="calendar") from error
    document["hours"] = [hours_format(day) for day in calendar.hours]  # as the page shows them
    document["time_zone"] = time_zone
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = tenant.settings.get(CALENDAR)
    tenant.settings = {**tenant.settings, CALENDAR: document}
    tenant.save(update_fields=["settings"])
    with tenant_context(tenant):
        audit_record(
            by=by,
            action="tenant.calendar",
            target=tenant,
            before=before,
            after=document,
        )
    return tenant
