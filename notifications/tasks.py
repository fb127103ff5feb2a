"""Celery tasks of notifications: one send per notification and channel, retried with
exponential backoff. Thin: ids in, the delivery service called."""

from celery import shared_task

from notifications.delivery import notification_deliver
from organizations.messaging import DeliveryError

RETRY_BASE_SECONDS = 15
RETRY_MAX_SECONDS = 900


def retry_backoff_seconds(retries: int) -> int:
    return min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2**retries)


@shared_task(bind=True, acks_late=True, max_retries=5)
def notification_send(self, tenant_id: int, notification_id: int, channel: str) -> None:
    try:
        notification_deliver(tenant_id=tenant_id, notification_id=notification_id, channel=channel)
    except DeliveryError as error:
        if self.request.retries >= self.max_retries:
            return  # the failed attempts stay in the delivery log on the ticket
        raise self.retry(
            exc=error, countdown=retry_backoff_seconds(self.request.retries)
        ) from error
