"""Customers known to a tenant, identified by the tenant's own external id."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from organizations.tenancy import TenantOwnedModel


class Customer(TenantOwnedModel):
    external_id = models.CharField(max_length=128)
    name = models.CharField(max_length=200, blank=True)
    mobile = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    wechat_openid = models.CharField(max_length=128, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "external_id"], name="customer_external_id_unique_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return self.name or self.external_id

    @property
    def masked_mobile(self) -> str:
        return f"{self.mobile[:3]}****{self.mobile[-4:]}" if len(self.mobile) >= 7 else ""


class ContactPolicy(TenantOwnedModel):
    """How often a tenant may ask a customer for feedback, across all its surveys."""

    min_days_between_invitations = models.PositiveIntegerField(default=30)
    quiet_hours_start = models.PositiveSmallIntegerField(default=21, help_text="hour, 0-23")
    quiet_hours_end = models.PositiveSmallIntegerField(default=9, help_text="hour, 0-23")
    max_reminders = models.PositiveSmallIntegerField(default=1)
    reminder_after_hours = models.PositiveIntegerField(default=48)
    invitation_valid_days = models.PositiveIntegerField(default=14)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="contactpolicy_one_per_tenant")
        ]

    def __str__(self) -> str:
        return f"Contact policy of {self.tenant_id}"

    def in_quiet_hours(self, hour: int) -> bool:
        if self.quiet_hours_start == self.quiet_hours_end:
            return False
        if self.quiet_hours_start < self.quiet_hours_end:
            return self.quiet_hours_start <= hour < self.quiet_hours_end
        return hour >= self.quiet_hours_start or hour < self.quiet_hours_end
