"""Escalation up the org tree (alerts/escalation.py): a ticket's escalation level and when the
sweep looks at it next, and the person an escalation event reached.

Open tickets are looked at by the first sweep, which reckons their next step from their SLA;
tickets that the old sweep flagged start the chain at its first step like the others (nobody
was told then)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

OPEN_STATUSES = ("open", "in_progress", "waiting_customer", "reopened")


def escalation_check_backfill(apps, schema_editor) -> None:
    Ticket = apps.get_model("alerts", "Ticket")
    Ticket.objects.filter(status__in=OPEN_STATUSES).update(escalation_check_at=timezone.now())


class Migration(migrations.Migration):

    dependencies = [
        ('alerts', '0009_ticket_updated_index'),
        ('organizations', '0004_ticket_assignment'),
        ('surveys', '0008_touchpoints_protected'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='ticket',
            name='escalation_check_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='ticket',
            name='escalation_level',
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='ticketevent',
            name='to_user',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('escalation_check_at__isnull', False)), fields=['tenant', 'escalation_check_at'], name='ticket_escalation_check'),
        ),
        migrations.AddIndex(
            model_name='ticketevent',
            index=models.Index(condition=models.Q(('to_user__isnull', False)), fields=['tenant', 'to_user', 'at'], name='ticketevent_to_user'),
        ),
        migrations.RunPython(escalation_check_backfill, migrations.RunPython.noop),
    ]
