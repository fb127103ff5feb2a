"""What a member is told about the tickets they work, the metric alerts they own and the
improvement projects proposed in their scope: in-app notifications, and how they want to be
told (their preferences)."""

from __future__ import annotations

import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from organizations.tenancy import TenantOwnedModel


class Notification(TenantOwnedModel):
    """One line in a member's notification centre: a ticket event that concerns them, a metric
    alert raised for a unit they manage, or an improvement project proposed for a recurring
    cause in their scope (the last two have no ticket nor event)."""

    class Kind(models.TextChoices):
        ASSIGNED = "assigned", _("工单分派给您")
        REASSIGNED = "reassigned", _("工单改派给您")
        ESCALATED = "escalated", _("工单升级到您")
        CUSTOMER_REPLY = "customer_reply", _("客户回复了您的工单")
        NEAR_BREACH = "near_breach", _("您的工单即将超时")
        METRIC_DROP = "metric_drop", _("您负责单元的指标下降")
        PROJECT_PROPOSED = "project_proposed", _("复发原因建议立项")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    ticket = models.ForeignKey(
        "alerts.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    event = models.ForeignKey(
        "alerts.TicketEvent", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    metric_alert = models.ForeignKey(
        "analytics.MetricAlert", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    project = models.ForeignKey(
        "improvements.ImprovementProject",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # An event announced twice (a retried task, a signal sent again) tells them once.
            models.UniqueConstraint(
                fields=["tenant", "event", "recipient"], name="notification_once_per_event"
            ),
            # A detection run twice tells the owner of an alert once.
            models.UniqueConstraint(
                fields=["tenant", "metric_alert", "recipient"],
                condition=models.Q(metric_alert__isnull=False),
                name="notification_once_per_metric_alert",
            ),
            # A proposal announced twice tells each manager once.
            models.UniqueConstraint(
                fields=["tenant", "project", "recipient"],
                condition=models.Q(project__isnull=False),
                name="notification_once_per_project",
            ),
            models.CheckConstraint(
                condition=models.Q(ticket__isnull=False, event__isnull=False)
                | models.Q(metric_alert__isnull=False)
                | models.Q(project__isnull=False),
                name="notification_of_ticket_event_metric_alert_or_project",
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "recipient", "read_at", "created_at"], name="notification_inbox"
            )
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        if self.ticket_id:
            subject = f"ticket {self.ticket_id}"
        elif self.metric_alert_id:
            subject = f"alert {self.metric_alert_id}"
        else:
            subject = f"project {self.project_id}"
        return f"{self.kind} of {subject} to {self.recipient_id}"


class Channel(models.TextChoices):
    """Where a notification goes besides the notification centre, which always has it."""

    EMAIL = "email", _("邮件")
    SMS = "sms", _("短信")
    WECOM = "wecom", _("企业微信群")
    DINGTALK = "dingtalk", _("钉钉群")
    FEISHU = "feishu", _("飞书群")


def _all_kinds() -> list[str]:
    return list(Notification.Kind.values)


class NotificationPreference(TenantOwnedModel):
    """A member's choice of the events they are told about, the channels besides the
    notification centre, and quiet hours (local time, may span midnight) without them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kinds = models.JSONField(default=_all_kinds)
    channels = models.JSONField(default=list)
    quiet_from = models.TimeField(null=True, blank=True)
    quiet_until = models.TimeField(null=True, blank=True)
    mobile = models.CharField(max_length=20, blank=True)  # for SMS, which needs a number

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="notificationpref_one_per_user")
        ]

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"

    def is_quiet_at(self, local: datetime.time) -> bool:
        if self.quiet_from is None or self.quiet_until is None:
            return False
        if self.quiet_from < self.quiet_until:
            return self.quiet_from <= local < self.quiet_until
        return local >= self.quiet_from or local < self.quiet_until  # over midnight


ROBOT_CHANNELS = (Channel.WECOM, Channel.DINGTALK, Channel.FEISHU)


class GroupRobot(TenantOwnedModel):
    """A group chat's robot webhook for an org unit's notifications (its subtree's, unless a
    unit below has its own), or the tenant's when it names no unit."""

    kind = models.CharField(
        _("平台"), max_length=16, choices=[(c.value, c.label) for c in ROBOT_CHANNELS]
    )
    org_unit = models.ForeignKey(
        "organizations.OrgUnit",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("组织单元"),
    )
    webhook_url = models.CharField(_("Webhook 地址"), max_length=500)
    # DingTalk's 加签 and Feishu's 签名校验 secret; WeCom robots have none.
    secret = models.CharField(_("签名密钥"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "org_unit", "kind"], name="grouprobot_one_per_unit_kind"
            ),
            models.UniqueConstraint(
                fields=["tenant", "kind"],
                condition=models.Q(org_unit__isnull=True),
                name="grouprobot_one_per_tenant_kind",
            ),
        ]
        ordering = ["kind", "id"]

    def __str__(self) -> str:
        return f"{self.kind} robot of {self.org_unit_id or 'tenant'}"

    @property
    def webhook_host(self) -> str:
        """What a page shows of the webhook: its host, never the token in its path or query."""
        return urlsplit(self.webhook_url).hostname or ""


class Delivery(TenantOwnedModel):
    """One attempt to send a notification on a channel besides the centre: the delivery log
    shown on the ticket. At most one attempt per notification and channel is sending or sent
    (the partial constraint), so a retry never sends what was sent or may have been."""

    class Status(models.TextChoices):
        SENDING = "sending", _("发送中")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("失败")

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="+")
    # The ticket whose delivery log shows it; none for a metric alert's or a project's.
    ticket = models.ForeignKey(
        "alerts.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    recipient = models.CharField(max_length=254)  # an address, or the robot's platform and unit
    attempt = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SENDING)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "notification", "channel"],
                condition=models.Q(status__in=["sending", "sent"]),
                name="delivery_once_per_channel",
            )
        ]
        indexes = [models.Index(fields=["tenant", "ticket", "created_at"], name="delivery_ticket")]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.channel} #{self.attempt} of {self.notification_id} ({self.status})"
