"""Reads of notifications: a member's notification centre and its unread count, their
preferences and the channels they may be reached on now."""

from __future__ import annotations

import zoneinfo

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet
from django.utils import timezone

from notifications.models import Delivery, GroupRobot, Notification, NotificationPreference
from organizations.config_version import request_seen
from organizations.models import OrgUnit, Tenant
from organizations.ratelimit import shared_redis_call
from organizations.tenancy import current_tenant


def notification_list(*, user: AbstractBaseUser) -> QuerySet[Notification]:
    """The member's notifications in the current tenant, newest first, with their ticket or
    metric alert or project."""
    return Notification.objects.filter(recipient=user).select_related(
        "ticket", "metric_alert__org_unit", "project"
    )


# The header's unread count, kept in the shared Redis per member: "<version>:<count>", used
# while <version> is still the tenant's configuration version this request read (a count
# left by another database, a test run's, never shows); the writers delete it (now and after
# their commit). A count read just before a commit and kept just after it is right again
# within UNREAD_KEPT_SECONDS.
UNREAD_KEPT_SECONDS = 60


def unread_count_key(tenant_id: int, user_id: int) -> str:
    return f"cem:unread:{int(tenant_id)}:{int(user_id)}"


def notification_unread_count(*, user: AbstractBaseUser) -> int:
    """The member's unread notifications in the current tenant: the kept count when the
    request read the tenant's configuration version and it still holds, else one query on the
    (tenant, recipient, read_at, created_at) index."""
    seen = request_seen()
    key = unread_count_key(current_tenant().pk, user.pk)
    if seen is not None:
        kept = shared_redis_call(lambda client: client.get(key))
        if kept is not None:
            version, _, count = kept.decode().partition(":")
            if version == seen.token:
                return int(count)
    count = Notification.objects.filter(recipient=user, read_at__isnull=True).count()
    if seen is not None:
        shared_redis_call(
            lambda client: client.set(key, f"{seen.token}:{count}", ex=UNREAD_KEPT_SECONDS)
        )
    return count


def notification_preference_of(*, user: AbstractBaseUser) -> NotificationPreference:
    """The member's preferences in the current tenant; the defaults (every event, no channel
    besides the centre, no quiet hours) until they save their own."""
    return NotificationPreference.objects.filter(user=user).first() or NotificationPreference(
        user=user
    )


def notification_preferences_of(user_ids: set[int]) -> dict[int, NotificationPreference]:
    saved = {p.user_id: p for p in NotificationPreference.objects.filter(user_id__in=user_ids)}
    return {pk: saved.get(pk) or NotificationPreference(user_id=pk) for pk in user_ids}


def channels_now(preference: NotificationPreference, *, tenant: Tenant) -> list[str]:
    """The channels besides the centre to use now: none in the member's quiet hours, read in
    the tenant's time zone."""
    local = timezone.localtime(timezone.now(), zoneinfo.ZoneInfo(tenant.time_zone)).time()
    return [] if preference.is_quiet_at(local) else list(preference.channels)


def group_robot_for(*, kind: str, org_unit: OrgUnit | None) -> GroupRobot | None:
    """The robot of `kind` nearest the unit: its own, else its closest ancestor's, else the
    tenant's."""
    unit_ids = [int(pk) for pk in org_unit.path.split("/") if pk] if org_unit else []
    robots = {
        robot.org_unit_id: robot
        for robot in GroupRobot.objects.filter(kind=kind).filter(
            Q(org_unit_id__in=unit_ids) | Q(org_unit__isnull=True)
        )
    }
    return next((robots[pk] for pk in [*reversed(unit_ids), None] if pk in robots), None)


def group_robot_list() -> QuerySet[GroupRobot]:
    return GroupRobot.objects.select_related("org_unit")


def ticket_deliveries(*, ticket_id: int) -> QuerySet[Delivery]:
    """The ticket's delivery log: every attempt to send its notifications outside."""
    return Delivery.objects.filter(ticket_id=ticket_id).select_related("notification__recipient")
