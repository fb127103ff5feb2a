"""The first-response escalation (alerts.services._first_response_escalation): when the sweep
told a ticket's unit manager that nobody had responded by its first-response due time.

Open tickets already past that due time without a response are marked as escalated at their
due time, without an event: on the day of the upgrade their managers are not sent one notice
per old ticket. Those still within it are looked at by the sweep at their due time."""

from django.db import migrations, models
from django.db.models import F
from django.db.models.functions import Least
from django.utils import timezone

OPEN_STATUSES = ("open", "in_progress", "waiting_customer", "reopened")


def first_response_escalation_backfill(apps, schema_editor) -> None:
    Ticket = apps.get_model("alerts", "Ticket")
    unanswered = Ticket.objects.filter(
        status__in=OPEN_STATUSES,
        first_responded_at__isnull=True,
        first_response_due_at__isnull=False,
    )
    now = timezone.now()
    unanswered.filter(first_response_due_at__lte=now).update(
        first_response_escalated_at=F("first_response_due_at")
    )
    waiting = unanswered.filter(first_response_due_at__gt=now)
    waiting.filter(escalation_check_at__isnull=True).update(
        escalation_check_at=F("first_response_due_at")
    )
    waiting.filter(escalation_check_at__isnull=False).update(
        escalation_check_at=Least("escalation_check_at", "first_response_due_at")
    )


class Migration(migrations.Migration):

    dependencies = [
        ("alerts", "0016_ticket_open_queue_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="first_response_escalated_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(first_response_escalation_backfill, migrations.RunPython.noop),
    ]
