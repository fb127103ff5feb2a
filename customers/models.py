"""Customers known to a tenant, identified by the tenant's own external id."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from cem.tenancy import TenantOwnedModel


class Customer(TenantOwnedModel):
    external_id = models.CharField(max_length=128)
    name = models.CharField(max_length=200, blank=True)
    mobile = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
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
