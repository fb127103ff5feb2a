"""What a member is told about the tickets they work: in-app notifications."""

from __future__ import annotations

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
