"""Celery tasks of alerts: SLA escalation on beat."""

from celery import shared_task

from alerts import services


@shared_task
def escalate_due() -> int:
    """Take the tickets whose next escalation step is due one step up their chain."""
    return services.tickets_escalate_due()
