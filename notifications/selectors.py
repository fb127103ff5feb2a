"""Reads of notifications: a member's notification centre and its unread count."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from notifications.models import Notification


def notification_list(*, user: AbstractBaseUser) -> QuerySet[Notification]:
    """The member's notifications in the current tenant, newest first, with their ticket."""
    return Notification.objects.filter(recipient=user).select_related("ticket")


def notification_unread_count(*, user: AbstractBaseUser) -> int:
    """One query on the (tenant, recipient, read_at, created_at) index."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
