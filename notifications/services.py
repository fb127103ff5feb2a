"""Writes of notifications: telling members about the ticket events that concern them, the
metric alerts raised for the units they manage and the improvement projects proposed in their
scope (and handing the sends outside to
notifications.delivery), marking what they have read, each
member's preferences, and the group robots owners and admins configure."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.models import TicketEvent
from analytics.models import MetricAlert
from improvements.models import ImprovementProject, ProjectStatus
from notifications import selectors
from notifications.delivery import notifications_dispatch
from notifications.models import Channel, GroupRobot, Notification, NotificationPreference
from notifications.robots import WebhookUrlError, webhook_url_check
from organizations.access import actor_require_permission
from organizations.models import Membership, OrgUnit, Role, Tenant
from organizations.ratelimit import shared_redis_call
from organizations.services import Actor, audit_record
from organizations.tenancy import current_tenant, system_context, tenant_context
from surveys.forms import MOBILE

NOTIFIED_KINDS = {
    TicketEvent.Kind.ASSIGNED: Notification.Kind.ASSIGNED,
    TicketEvent.Kind.REASSIGNED: Notification.Kind.REASSIGNED,
    TicketEvent.Kind.ESCALATED: Notification.Kind.ESCALATED,
    TicketEvent.Kind.CUSTOMER_REPLY: Notification.Kind.CUSTOMER_REPLY,
    TicketEvent.Kind.NEAR_BREACH: Notification.Kind.NEAR_BREACH,
}


def notifications_for_ticket_events(*, event_ids: list[int]) -> list[Notification]:
    """Notify the member each event concerns, whichever tenants the events are of: an
    assignment, a reassignment, a customer's reply or a near breach tells the ticket's
    assignee (unless they did it themselves), an escalation the member it reached. Safe to
    run twice: an event notifies a member once. Called after the events' transaction has
    committed."""
    return _in_their_tenants(TicketEvent, event_ids, _notifications_create)


def _notifications_create(event_ids: list[int]) -> list[Notification]:
    events = TicketEvent.objects.filter(pk__in=event_ids, kind__in=NOTIFIED_KINDS).select_related(
        "ticket"
    )
    recipients = {
        event: recipient_id
        for event in events
        if (recipient_id := _recipient_id(event)) not in (None, event.actor_user_id)
    }
    preferences = selectors.notification_preferences_of(set(recipients.values()))
    told = set(
        Notification.objects.filter(event_id__in=event_ids).values_list("event_id", "recipient_id")
    )
    notifications = []
    for event, recipient_id in recipients.items():
        wanted = NOTIFIED_KINDS[event.kind] in preferences[recipient_id].kinds
        if not wanted or (event.pk, recipient_id) in told:
            continue
        notifications.append(
            Notification(
                tenant_id=event.tenant_id,
                recipient_id=recipient_id,
                kind=NOTIFIED_KINDS[event.kind],
                ticket_id=event.ticket_id,
                event=event,
                created_at=event.at,
            )
        )
    # Two announcements at once: the constraint keeps one, the other's row is dropped (and
    # its sends are refused by the delivery log's own constraint).
    _notifications_store(notifications)
    created = [
        n
        for n in Notification.objects.filter(event_id__in=[n.event_id for n in notifications])
        if (n.event_id, n.recipient_id) not in told
    ]
    notifications_dispatch(created)
    return created


def notifications_for_metric_alerts(*, alert_ids: list[int]) -> list[Notification]:
    """Tell each alert's owner (the unit's manager at detection) about it, by their
    preferences, whichever tenants the alerts are of; an alert without an owner stays with
    its unit's queue on the dashboard. Safe to run twice: an alert notifies its owner once.
    Called after the alerts' transaction has committed."""
    return _in_their_tenants(MetricAlert, alert_ids, _metric_alert_notifications_create)


def _metric_alert_notifications_create(alert_ids: list[int]) -> list[Notification]:
    alerts = MetricAlert.objects.filter(pk__in=alert_ids, owner__isnull=False)
    told = set(
        Notification.objects.filter(metric_alert_id__in=alert_ids).values_list(
            "metric_alert_id", flat=True
        )
    )
    alerts = [alert for alert in alerts if alert.pk not in told]
    preferences = selectors.notification_preferences_of({alert.owner_id for alert in alerts})
    wanted = [
        Notification(
            tenant_id=alert.tenant_id,
            recipient_id=alert.owner_id,
            kind=Notification.Kind.METRIC_DROP,
            metric_alert=alert,
            created_at=alert.raised_at,
        )
        for alert in alerts
        if Notification.Kind.METRIC_DROP in preferences[alert.owner_id].kinds
    ]
    # Two runs at once: the constraint keeps one row, and the delivery log one send.
    _notifications_store(wanted)
    created = list(
        Notification.objects.filter(
            metric_alert_id__in=[n.metric_alert_id for n in wanted]
        ).select_related("metric_alert")
    )
    notifications_dispatch(created)
    return created


def notifications_for_proposed_projects(*, project_ids: list[int]) -> list[Notification]:
    """Tell the CX managers concerned that the recurring-cause sweep proposed a project: those
    whose scope is the whole tenant or holds one of the project's org units (every CX manager
    of the tenant when it has none), in the centre and on the channels they chose, each with a
    link to the project. Once per proposal and manager, however often it is announced. Called
    after the proposal's transaction has committed."""
    return _in_their_tenants(ImprovementProject, project_ids, _project_notifications_create)


def _project_notifications_create(project_ids: list[int]) -> list[Notification]:
    projects = list(
        ImprovementProject.objects.filter(
            pk__in=project_ids, status=ProjectStatus.PROPOSED
        ).prefetch_related("org_units")
    )
    managers = list(
        Membership.objects.filter(role=Role.CX_MANAGER, deactivated_at__isnull=True).select_related(
            "org_unit"
        )
    )
    recipients = {
        project: [m.user_id for m in managers if _scope_holds(m, project.org_units.all())]
        for project in projects
    }
    preferences = selectors.notification_preferences_of(
        {user_id for user_ids in recipients.values() for user_id in user_ids}
    )
    kind = Notification.Kind.PROJECT_PROPOSED
    notifications = [
        Notification(
            tenant_id=project.tenant_id,
            recipient_id=user_id,
            kind=kind,
            project=project,
            created_at=project.created_at,
        )
        for project, user_ids in recipients.items()
        for user_id in user_ids
        if kind in preferences[user_id].kinds
    ]
    told = set(
        Notification.objects.filter(project__in=projects).values_list("project_id", "recipient_id")
    )
    _notifications_store(notifications)
    created = [
        n
        for n in Notification.objects.filter(project__in=projects)
        if (n.project_id, n.recipient_id) not in told
    ]
    notifications_dispatch(created)
    return created


def _scope_holds(membership: Membership, units) -> bool:
    """Whether a member's scope is the whole tenant or holds one of `units` (all of a
    project without units concern the whole tenant)."""
    scope = membership.scope_path
    return not scope or not units or any(unit.path.startswith(scope) for unit in units)


def _in_their_tenants(
    model, ids: list[int], create: Callable[[list[int]], list[Notification]]
) -> list[Notification]:
    """create(ids) in the context of each tenant that rows `ids` of `model` belong to: the
    notices of a batch that a signal hands over, whichever tenants it holds."""
    with system_context():
        tenant_ids = set(model.all_tenants.filter(pk__in=ids).values_list("tenant_id", flat=True))
        tenants = list(Tenant.objects.filter(pk__in=tenant_ids))
    created: list[Notification] = []
    for tenant in tenants:
        with tenant_context(tenant):
            created += create(ids)
    return created


def _recipient_id(event: TicketEvent) -> int | None:
    """Whom an event concerns: the member an escalation reached, else the ticket's assignee."""
    if event.kind == TicketEvent.Kind.ESCALATED:
        return event.to_user_id
    return event.ticket.assignee_id


def notification_preference_set(
    *,
    user: AbstractBaseUser,
    kinds: list[str],
    channels: list[str],
    quiet_from: datetime.time | None,
    quiet_until: datetime.time | None,
    mobile: str = "",
) -> NotificationPreference:
    """Save the member's own preferences; refused (ValidationError, nothing saved) for an
    unknown event or channel, or quiet hours with one end only or both ends equal."""
    errors = []
    if set(kinds) - set(Notification.Kind.values) or set(channels) - set(Channel.values):
        errors.append(_("未知的通知事件或渠道。"))
    if (quiet_from is None) != (quiet_until is None):
        errors.append(_("免打扰时段需同时填写开始和结束时间。"))
    elif quiet_from is not None and quiet_from == quiet_until:
        errors.append(_("免打扰时段的开始和结束时间不能相同。"))
    mobile = mobile.strip()
    if (mobile or Channel.SMS in channels) and not MOBILE.match(mobile):
        errors.append(_("短信通知需要有效的中国大陆手机号（11 位，1 开头）。"))
    if errors:
        raise ValidationError(errors)
    preference, _created = NotificationPreference.objects.update_or_create(
        user=user,
        defaults={
            "kinds": [kind for kind in Notification.Kind.values if kind in kinds],
            "channels": [channel for channel in Channel.values if channel in channels],
            "quiet_from": quiet_from,
            "quiet_until": quiet_until,
            "mobile": mobile,
        },
    )
    return preference


def group_robot_add(
    *, kind: str, org_unit: OrgUnit | None, webhook_url: str, secret: str, by: Actor
) -> GroupRobot:
    """Add a group robot for a unit (or the whole tenant); refused, nothing saved, for a
    webhook that is not https or points at a private address, or a second robot of the same
    platform for the same unit."""
    actor_require_permission(by, "org.manage")
    webhook_url, secret = webhook_url.strip(), secret.strip()
    try:
        webhook_url_check(webhook_url)
    except WebhookUrlError as error:
        raise ValidationError(str(error)) from error
    if GroupRobot.objects.filter(kind=kind, org_unit=org_unit).exists():
        raise ValidationError(_("该单元已有这个平台的群机器人，请先删除再添加。"))
    robot = GroupRobot(
        tenant=current_tenant(),
        kind=kind,
        org_unit=org_unit,
        webhook_url=webhook_url,
        secret=secret,
    )
    robot.full_clean()
    robot.save()
    audit_record(by=by, action="group_robot.add", target=robot, after=_robot_state(robot))
    return robot


def group_robot_delete(*, robot: GroupRobot, by: Actor) -> None:
    actor_require_permission(by, "org.manage")
    audit_record(by=by, action="group_robot.delete", target=robot, before=_robot_state(robot))
    robot.delete()


def _robot_state(robot: GroupRobot) -> dict:
    """What the audit log keeps: never the secret, nor the webhook's own token."""
    return {"kind": robot.kind, "org_unit": robot.org_unit_id, "host": robot.webhook_host}


def notification_mark_read(*, user: AbstractBaseUser, notification_id: int) -> int:
    """Mark one of `user`'s notifications read; returns how many were (0 or 1)."""
    marked = Notification.objects.filter(
        recipient=user, pk=notification_id, read_at__isnull=True
    ).update(read_at=timezone.now())
    _unread_changed(current_tenant().pk, [user.pk])
    return marked


def notifications_mark_all_read(*, user: AbstractBaseUser) -> int:
    marked = Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    _unread_changed(current_tenant().pk, [user.pk])
    return marked


def _notifications_store(notifications: list[Notification]) -> None:
    """Write new notifications (a second announcement of one is dropped by the constraint)
    and retire their recipients' kept unread counts."""
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)
    if notifications:
        _unread_changed(current_tenant().pk, {n.recipient_id for n in notifications})


def _unread_changed(tenant_id: int, user_ids) -> None:
    """Forget the members' kept unread counts, now and once more after the commit (a count
    read in between, from before the commit, would otherwise be kept)."""
    keys = [selectors.unread_count_key(tenant_id, user_id) for user_id in user_ids]

    def forget() -> None:
        shared_redis_call(lambda client: client.delete(*keys))

    forget()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(forget)
