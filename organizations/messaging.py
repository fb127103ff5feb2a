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
from django.utils import timezone
from django.utils.module_loading import import_string

from organizations.models import OutboundMessage

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
    """Send `message` and log it; raises DeliveryError (logged as failed) when sending fails."""
    logged = OutboundMessage.objects.create(
        channel=message.channel,
        recipient=message.recipient,
        subject=message.subject[:200],
        body=message.body,
        purpose=purpose,
        attempts=1,
    )
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
