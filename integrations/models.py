"""Inbound events from partner systems: what happened to a customer, where, when."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from organizations.tenancy import TenantOwnedModel


class InboundEvent(TenantOwnedModel):
    """One event (e.g. "account.opened"), stored once per event id per tenant."""

    event_id = models.CharField(max_length=128)
    type = models.CharField(max_length=64)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    touchpoint = models.ForeignKey(
        "journeys.Touchpoint", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    org_unit = models.ForeignKey(
        "organizations.OrgUnit", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    properties = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "event_id"], name="inboundevent_id_unique")
        ]
        indexes = [
            models.Index(fields=["tenant", "type", "received_at"], name="inboundevent_type"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
