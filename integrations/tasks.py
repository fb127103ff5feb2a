"""Celery tasks of integrations: processing inbound events. Thin: ids in, services called."""

from celery import shared_task
from django.db import DatabaseError

from integrations import services


@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=8)
def process_event(event_pk: int) -> int:
    return services.event_process(event_pk=event_pk)


@shared_task
def sweep_unprocessed_events() -> int:
    """Beat: process events whose task was lost (broker down when they arrived)."""
    ids = services.unprocessed_event_ids()
    for event_pk in ids:
        process_event.delay(event_pk)
    return len(ids)
