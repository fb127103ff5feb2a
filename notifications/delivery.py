"""Sending a notification on a channel besides the centre (email, SMS, a group robot), after
the commit that created it and outside any row lock, each attempt logged on its own
(Delivery), at most once per notification and channel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications import selectors
from notifications.models import ROBOT_CHANNELS, Channel, Delivery, Notification
from notifications.robots import robot_post, ticket_card
from organizations.broker import publish
from organizations.messaging import DeliveryError, Message, backend_for
from organizations.models import OrgUnit, Tenant
from organizations.tenancy import current_tenant, system_context, tenant_context

IN_FLIGHT_OR_SENT = (Delivery.Status.SENDING, Delivery.Status.SENT)


def notifications_dispatch(notifications: list[Notification]) -> None:
    """Hand each notification to the send task once per channel its recipient wants now (none
    in their quiet hours). Called after the commit; the task takes ids and re-reads."""
    from notifications.tasks import notification_send  # the task module imports this one

    tenant = current_tenant()
    preferences = selectors.notification_preferences_of({n.recipient_id for n in notifications})
    for notification in notifications:
        for channel in selectors.channels_now(
            preferences[notification.recipient_id], tenant=tenant
        ):
            publish(notification_send, tenant.pk, notification.pk, channel)


@dataclass(frozen=True)
class _Target:
    recipient: str
    send: Callable[[], None]


def notification_deliver(*, tenant_id: int, notification_id: int, channel: str) -> Delivery | None:
    """Send the notification on `channel` unless an attempt was sent or is in flight; log the
    attempt in its own commit, then call the provider with no transaction open. Returns the
    attempt, or None when there was nothing to send (already sent, no address, no robot);
    raises DeliveryError (the attempt logged as failed) for the task to retry."""
    with system_context():
        tenant = Tenant.objects.get(pk=tenant_id)
    with tenant_context(tenant):
        notification = (
            Notification.objects.select_related(
                "ticket__org_unit",
                "metric_alert__org_unit",
                "metric_alert__touchpoint",
                "project",
                "recipient",
            )
            .filter(pk=notification_id)
            .first()
        )
        attempts = Delivery.objects.filter(notification_id=notification_id, channel=channel)
        if notification is None or attempts.filter(status__in=IN_FLIGHT_OR_SENT).exists():
            return None
        target = _target(notification, channel)
        if target is None:
            return None
        try:
            with transaction.atomic():
                delivery = Delivery.objects.create(
                    notification=notification,
                    ticket=notification.ticket,
                    channel=channel,
                    recipient=target.recipient[:254],
                    attempt=attempts.count() + 1,
                )
        except IntegrityError:  # another worker took this send a moment ago
            return None
        try:
            target.send()
        except DeliveryError as error:
            _finish(delivery, Delivery.Status.FAILED, error=str(error))
            raise
        _finish(delivery, Delivery.Status.SENT)
        return delivery


def _finish(delivery: Delivery, status: str, *, error: str = "") -> None:
    delivery.status, delivery.error, delivery.finished_at = status, error[:2000], timezone.now()
    delivery.save(update_fields=["status", "error", "finished_at"])


@dataclass(frozen=True)
class _Card:
    """What a notification says outside the centre: a title, lines, a link, and the unit
    whose group robot carries it (None: the tenant-wide robot)."""

    title: str
    lines: list[str]
    link: str
    org_unit: OrgUnit | None


def _ticket_card(notification: Notification) -> _Card:
    ticket = notification.ticket
    return _Card(
        title=_("%(kind)s：工单 #%(number)s")
        % {"kind": notification.get_kind_display(), "number": ticket.number},
        lines=[
            _("优先级：%(priority)s") % {"priority": ticket.get_priority_display()},
            _("单元：%(unit)s") % {"unit": ticket.org_unit.name if ticket.org_unit_id else "–"},
            _("处理人：%(user)s") % {"user": notification.recipient.get_username()},
        ],
        link=_public_url("ticket_detail", ticket.number),
        org_unit=ticket.org_unit,
    )


def _metric_alert_card(notification: Notification) -> _Card:
    alert = notification.metric_alert
    return _Card(
        title=_("%(kind)s：%(unit)s")
        % {"kind": notification.get_kind_display(), "unit": alert.org_unit.name},
        lines=[
            _("触点：%(touchpoint)s")
            % {"touchpoint": alert.touchpoint.name if alert.touchpoint_id else _("全部触点")},
            _(
                "%(metric)s %(value).1f（%(answers)s 份回答），控制下限 %(limit).1f，"
                "基线 %(baseline).1f"
            )
            % {
                "metric": alert.get_metric_display(),
                "value": alert.value,
                "answers": alert.answers,
                "limit": alert.lower_limit,
                "baseline": alert.baseline,
            },
            _("窗口：%(start)s – %(end)s") % {"start": alert.window_start, "end": alert.window_end},
        ],
        link=_public_url("metric_alert_detail", alert.pk),
        org_unit=alert.org_unit,
    )


def _project_card(notification: Notification) -> _Card:
    project = notification.project
    return _Card(
        title=_("%(kind)s：%(title)s")
        % {"kind": notification.get_kind_display(), "title": project.title},
        lines=[
            _("问题层级：%(level)s") % {"level": project.get_level_display()},
            project.description,
        ],
        link=_public_url("improvement_project", project.pk),
        org_unit=None,
    )


def _public_url(name: str, key: int) -> str:
    return settings.CEM_PUBLIC_BASE_URL.rstrip("/") + reverse(
        name, args=[current_tenant().slug, key]
    )


def _target(notification: Notification, channel: str) -> _Target | None:
    if notification.metric_alert_id:
        card = _metric_alert_card(notification)
    elif notification.project_id:
        card = _project_card(notification)
    else:
        card = _ticket_card(notification)
    title, lines, link = card.title, card.lines, card.link
    if channel in ROBOT_CHANNELS:
        robot = selectors.group_robot_for(kind=channel, org_unit=card.org_unit)
        if robot is None:
            return None
        robot_card = ticket_card(channel, title=title, lines=lines, link=link)
        return _Target(
            recipient=f"{robot.get_kind_display()} · {robot.org_unit or current_tenant().name}",
            send=lambda: robot_post(
                channel, url=robot.webhook_url, secret=robot.secret, card=robot_card
            ),
        )
    address = (
        notification.recipient.email
        if channel == Channel.EMAIL
        else selectors.notification_preference_of(user=notification.recipient).mobile
    )
    if not address:
        return None
    message = Message(
        channel=channel, recipient=address, subject=title, body="\n".join([*lines, link])
    )
    return _Target(recipient=address, send=lambda: backend_for(channel).send(message))
