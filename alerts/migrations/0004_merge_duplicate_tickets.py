"""Step 2 of one ticket per response: every ticket's rule is copied to TicketRule, and the
tickets one response opened (one per matching rule, before) are merged into the earliest.

The merged ticket keeps all their rules, their history in order (each moved event says which
ticket it came from) and an event naming the numbers merged into it; it takes the highest
priority, the earliest due time and escalation, and stays open if any of them was open.
Going back copies each ticket's first rule into the old column; merges are not undone."""

from django.db import migrations
from django.db.models import Count
from django.utils import timezone

PRIORITY_ORDER = ("low", "normal", "high", "urgent")
OPEN_STATUSES = ("open", "in_progress", "waiting_customer", "reopened")
BATCH = 2000


def rules_copy(apps) -> None:
    Ticket = apps.get_model("alerts", "Ticket")
    TicketRule = apps.get_model("alerts", "TicketRule")
    rows = Ticket.objects.filter(rule__isnull=False).values_list(
        "pk", "tenant_id", "rule_id", "created_at"
    )
    batch = []
    for ticket_id, tenant_id, rule_id, created_at in rows.iterator(chunk_size=BATCH):
        batch.append(
            TicketRule(
                tenant_id=tenant_id, ticket_id=ticket_id, rule_id=rule_id, matched_at=created_at
            )
        )
        if len(batch) >= BATCH:
            TicketRule.objects.bulk_create(batch)
            batch = []
    TicketRule.objects.bulk_create(batch)


def _merged_status(tickets) -> tuple[str, object]:
    """The status of the merge and its closed_at: the earliest ticket's if it is open, else
    the first open one's; closed only if all were."""
    open_ones = [ticket for ticket in tickets if ticket.status in OPEN_STATUSES]
    if open_ones:
        return open_ones[0].status, None
    latest = max(tickets, key=lambda ticket: ticket.updated_at)
    return latest.status, max((t.closed_at for t in tickets if t.closed_at), default=None)


def tickets_merge(apps, keep, duplicates, *, now) -> None:
    """Merge `duplicates` (tickets of the same response as `keep`, opened after it) into it."""
    TicketRule = apps.get_model("alerts", "TicketRule")
    TicketEvent = apps.get_model("alerts", "TicketEvent")
    Ticket = apps.get_model("alerts", "Ticket")
    everyone = [keep, *duplicates]
    kept_rules = {match.rule_id: match for match in TicketRule.objects.filter(ticket=keep)}
    for match in TicketRule.objects.filter(ticket__in=duplicates).order_by("matched_at", "id"):
        earlier = kept_rules.get(match.rule_id)
        if earlier is None:
            match.ticket_id = keep.pk
            match.save(update_fields=["ticket"])
            kept_rules[match.rule_id] = match
        else:
            if match.matched_at < earlier.matched_at:
                earlier.matched_at = match.matched_at
                earlier.save(update_fields=["matched_at"])
            match.delete()
    for ticket in duplicates:
        for event in TicketEvent.objects.filter(ticket=ticket):
            origin = f"（原工单 #{ticket.number}）"
            event.note = f"{origin}{event.note}" if event.note else origin
            event.ticket_id = keep.pk
            event.save(update_fields=["ticket", "note"])
    keep.priority = max((t.priority for t in everyone), key=PRIORITY_ORDER.index)
    keep.sla_due_at = min(t.sla_due_at for t in everyone)
    keep.escalated_at = min((t.escalated_at for t in everyone if t.escalated_at), default=None)
    keep.status, keep.closed_at = _merged_status(everyone)
    keep.assignee_id = keep.assignee_id or next(
        (t.assignee_id for t in duplicates if t.assignee_id), None
    )
    keep.root_cause_id = keep.root_cause_id or next(
        (t.root_cause_id for t in duplicates if t.root_cause_id), None
    )
    keep.resolution = keep.resolution or next((t.resolution for t in duplicates if t.resolution), "")
    keep.updated_at = max(now, *(t.updated_at for t in everyone))
    keep.save()
    numbers = "、".join(f"#{t.number}" for t in duplicates)
    TicketEvent.objects.create(
        tenant_id=keep.tenant_id,
        ticket=keep,
        kind="merged",
        note=f"同一份回答的重复工单 {numbers} 已并入本工单。",
        at=now,
    )
    Ticket.objects.filter(pk__in=[t.pk for t in duplicates]).delete()


def duplicates_merge(apps) -> None:
    Ticket = apps.get_model("alerts", "Ticket")
    now = timezone.now()
    groups = (
        Ticket.objects.values("tenant_id", "response_id")
        .annotate(count=Count("id"))
        .filter(count__gt=1)
        .values_list("tenant_id", "response_id")
    )
    for tenant_id, response_id in list(groups):
        keep, *duplicates = Ticket.objects.filter(
            tenant_id=tenant_id, response_id=response_id
        ).order_by("created_at", "number")
        tickets_merge(apps, keep, duplicates, now=now)


def forward(apps, schema_editor) -> None:
    rules_copy(apps)
    duplicates_merge(apps)


def backward(apps, schema_editor) -> None:
    Ticket = apps.get_model("alerts", "Ticket")
    TicketRule = apps.get_model("alerts", "TicketRule")
    first_rules = {}
    for ticket_id, rule_id in TicketRule.objects.order_by("-matched_at", "-id").values_list(
        "ticket_id", "rule_id"
    ):
        first_rules[ticket_id] = rule_id
    for ticket_id, rule_id in first_rules.items():
        Ticket.objects.filter(pk=ticket_id).update(rule_id=rule_id)


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0003_ticket_rules"),
    ]

    operations = [migrations.RunPython(forward, backward)]
