"""Celery tasks of alerts: SLA escalation on beat."""

from celery import shared_task

from alerts import services


@shared_task
def escalate_overdue() -> int:
    return services.tickets_escalate_overdue()
