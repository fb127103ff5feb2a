"""What a member is told about the tickets they work: in-app notifications, and how they want
to be told (their preferences)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from organizations.tenancy import TenantOwnedModel


class Notification(TenantOwnedModel):
    """One line in a member's notification centre: a ticket event that concerns them."""

    class Kind(models.TextChoices):
        ASSIGNED = "assigned", _("工单分派给您")
        REASSIGNED = "reassigned", _("工单改派给您")
        ESCALATED = "escalated", _("工单升级到您")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    ticket = models.ForeignKey("alerts.Ticket", on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey("alerts.TicketEvent", on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # An event announced twice (a retried task, a signal sent again) tells them once.
            models.UniqueConstraint(
                fields=["tenant", "event", "recipient"], name="notification_once_per_event"
            )
        ]
        indexes = [
            models.Index(
                fields=["tenant", "recipient", "read_at", "created_at"], name="notification_inbox"
            )
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} of {self.ticket_id} to {self.recipient_id}"


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
