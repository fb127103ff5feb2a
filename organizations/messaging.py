"""Outbound messages to people (email, SMS, WeChat template messages) through pluggable
backends, each delivery kept in the OutboundMessage log.

Backends are named per channel in settings.CEM_MESSAGE_BACKENDS. Email goes through Django's
email backend (console in development, SMTP in production). SMS and WeChat need a provider
contract; until one is configured the LogBackend stands in: it records the message and
delivers nothing, which is also the local test double.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError
from django.utils import timezone
from django.utils.module_loading import import_string

from organizations.models import DELIVERED_OR_IN_FLIGHT, OutboundMessage

logger = logging.getLogger(__name__)


class DeliveryError(Exception):
    """The provider refused or could not be reached; the caller may retry."""


@dataclass(frozen=True)
class Message:
    channel: str
    recipient: str
    body: str
    subject: str = ""
    data: dict = field(default_factory=dict)  # e.g. WeChat template fields


class EmailBackend:
    def send(self, message: Message) -> None:
        try:
            send_mail(
                message.subject,
                message.body,
                settings.DEFAULT_FROM_EMAIL,
                [message.recipient],
                fail_silently=False,
            )
        except OSError as error:  # SMTP errors derive from OSError
            raise DeliveryError(str(error)) from error


class LogBackend:
    """Records the message only: the stand-in for an SMS or WeChat provider."""

    def send(self, message: Message) -> None:
        logger.info("%s to %s: %s", message.channel, message.recipient, message.body[:200])


@cache
def backend_for(channel: str):
    return import_string(settings.CEM_MESSAGE_BACKENDS[channel])()


def deliver(message: Message, *, purpose: str) -> OutboundMessage:
    """Send `message` for `purpose` at most once, and log each attempt.

    Call it after the caller's transaction has committed, outside any row lock: the provider
    is never called while rows are locked, and each attempt's log row is committed on its
    own, so the log of a failure is never rolled back. A purpose already sent, or being sent
    by another process, is not sent again: that log row is returned (status sent or queued).
    A failed attempt (DeliveryError, logged as failed) may be tried again by a later call.
    An attempt that never reported back (its process died while sending) stays queued and is
    not repeated by itself: whether the provider got it is not known.
    """
    earlier = _delivery_of(purpose)
    if earlier is not None:
        return earlier
    try:
        logged = OutboundMessage.objects.create(
            channel=message.channel,
            recipient=message.recipient,
            subject=message.subject[:200],
            body=message.body,
            purpose=purpose,
            attempts=OutboundMessage.objects.filter(purpose=purpose).count() + 1,
        )
    except IntegrityError:  # another process claimed the purpose a moment ago
        return _delivery_of(purpose)
    try:
        backend_for(message.channel).send(message)
    except DeliveryError as error:
        logged.status = OutboundMessage.Status.FAILED
        logged.error = str(error)[:2000]
        logged.save(update_fields=["status", "error"])
        raise
    logged.status = OutboundMessage.Status.SENT
    logged.sent_at = timezone.now()
    logged.save(update_fields=["status", "sent_at"])
    return logged


def _delivery_of(purpose: str) -> OutboundMessage | None:
    """The attempt for `purpose` that was sent or is being sent, if there is one (the
    constraint outbound_one_delivery_per_purpose allows one)."""
    return (
        OutboundMessage.objects.filter(purpose=purpose, status__in=DELIVERED_OR_IN_FLIGHT)
        .order_by("-pk")
        .first()
    )
