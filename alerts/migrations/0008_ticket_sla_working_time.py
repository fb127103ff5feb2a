"""Service levels in working time (alerts/sla.py): a first-response due time and the
targets on each ticket, and the resolution clock that pauses while the ticket waits on the
customer.

Tickets opened before keep their resolution due time and get no first-response due time nor
targets. The first action of a person or a key on each (claim, note, status change) is its
first response; a ticket waiting on the customer is paused since it began waiting, with
the minutes it had left then (wall-clock minutes: the calendar is code, not history)."""

from django.db import migrations, models
from django.db.models import OuterRef, Q, Subquery

PERSON_ACTIONS = ("claimed", "note", "status")


def sla_state_backfill(apps, schema_editor) -> None:
    Ticket = apps.get_model("alerts", "Ticket")
    TicketEvent = apps.get_model("alerts", "TicketEvent")
    by_person = Q(actor_user__isnull=False) | Q(actor_api_key__isnull=False)
    first_action = (
        TicketEvent.objects.filter(by_person, ticket=OuterRef("pk"), kind__in=PERSON_ACTIONS)
        .order_by("at", "id")
        .values("at")[:1]
    )
    Ticket.objects.update(first_responded_at=Subquery(first_action))
    began_waiting = (
        TicketEvent.objects.filter(ticket=OuterRef("pk"), to_status="waiting_customer")
        .order_by("-at", "-id")
        .values("at")[:1]
    )
    waiting = Ticket.objects.filter(status="waiting_customer").annotate(since=Subquery(began_waiting))
    for ticket in waiting.iterator(chunk_size=2000):
        ticket.sla_paused_at = ticket.since or ticket.updated_at
        left = (ticket.sla_due_at - ticket.sla_paused_at).total_seconds() // 60
        ticket.sla_left_minutes = max(0, int(left))
        ticket.save(update_fields=["sla_paused_at", "sla_left_minutes"])


class Migration(migrations.Migration):

    dependencies = [
        ('alerts', '0007_ticket_assigned'),
    ]

    operations = [
        migrations.AddField(
            model_name='ticket',
            name='first_responded_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='ticket',
            name='first_response_due_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='ticket',
            name='first_response_minutes',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='ticket',
            name='sla_left_minutes',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='ticket',
            name='sla_minutes',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='ticket',
            name='sla_paused_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='ticketevent',
            name='kind',
            field=models.CharField(choices=[('created', '创建'), ('claimed', '认领'), ('note', '跟进记录'), ('status', '状态变更'), ('escalated', '升级'), ('reopened', '重开'), ('matched', '新增命中'), ('merged', '合并'), ('reassigned', '改派'), ('assigned', '自动分派'), ('sla_paused', 'SLA 计时暂停'), ('sla_resumed', 'SLA 计时恢复')], max_length=16),
        ),
        migrations.RunPython(sla_state_backfill, migrations.RunPython.noop),
    ]
