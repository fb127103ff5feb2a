"""Inbound events: accepted in batches, deduplicated by event id, then matched against the
tenant's triggers to invite the customer (see surveys/distribution.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.services import customer_upsert
from integrations.models import InboundEvent
from journeys.models import Touchpoint
from organizations.broker import publish
from organizations.models import OrgUnit
from organizations.tenancy import system_context, tenant_context
from surveys.distribution import invitation_schedule, trigger_matches
from surveys.models import Trigger


@dataclass
class EventResult:
    id: str
    status: str  # accepted | duplicate | invalid
    errors: dict = field(default_factory=dict)


def event_ingest(item: dict) -> EventResult:
    """Store one validated event (see integrations/api.py for its shape) unless its id was
    seen before; processing follows the commit."""
    event_id = item["id"]
    if InboundEvent.objects.filter(event_id=event_id).exists():
        return EventResult(event_id, "duplicate")
    touchpoint = org_unit = None
    errors = {}
    if item.get("touchpoint"):
        touchpoint = Touchpoint.objects.filter(code=item["touchpoint"]).first()
        if touchpoint is None:
            errors["touchpoint"] = f"No touchpoint with code {item['touchpoint']!r}."
    if item.get("org_unit"):
        org_unit = OrgUnit.objects.filter(code=item["org_unit"]).first()
        if org_unit is None:
            errors["org_unit"] = f"No org unit with code {item['org_unit']!r}."
    if errors:
        return EventResult(event_id, "invalid", errors)
    person = item["customer"]
    try:
        with transaction.atomic():
            customer = customer_upsert(
                external_id=person["id"],
                name=person.get("name", ""),
                mobile=person.get("mobile", ""),
                email=person.get("email", ""),
            )
            if person.get("tags"):
                customer.tags = sorted(set(customer.tags) | set(person["tags"]))
                customer.save(update_fields=["tags"])
            event = InboundEvent.objects.create(
                event_id=event_id,
                type=item["type"],
                customer=customer,
                touchpoint=touchpoint,
                org_unit=org_unit,
                properties=item.get("properties", {}),
                occurred_at=item.get("occurred_at"),
            )
    except IntegrityError:
        return EventResult(event_id, "duplicate")
    transaction.on_commit(lambda: event_enqueue(event_pk=event.pk))
    return EventResult(event_id, "accepted")


def event_enqueue(*, event_pk: int) -> None:
    from integrations.tasks import process_event

    publish(process_event, event_pk)


def event_process(*, event_pk: int) -> int:
    """Invite the event's customer for every active trigger it matches; safe to run twice.
    Returns the number of invitations planned (suppressed ones included)."""
    with system_context():
        event = InboundEvent.all_tenants.select_related("tenant").filter(pk=event_pk).first()
    if event is None or event.processed_at is not None:
        return 0
    with tenant_context(event.tenant), transaction.atomic():
        event = (
            InboundEvent.objects.select_for_update(of=("self",))
            .select_related("customer")
            .get(pk=event_pk)
        )
        if event.processed_at is not None:
            return 0
        triggers = Trigger.objects.filter(
            event_type=event.type, is_active=True, survey__status="published"
        ).select_related("survey__live_version", "survey__touchpoint")
        planned = 0
        for trigger in triggers:
            if trigger.touchpoint_id and trigger.touchpoint_id != event.touchpoint_id:
                continue
            if not trigger_matches(trigger, properties=event.properties, tags=event.customer.tags):
                continue
            invitation_schedule(
                survey=trigger.survey,
                customer=event.customer,
                channel=trigger.channel,
                at=timezone.now() + timedelta(minutes=trigger.delay_minutes),
                trigger=trigger,
                event_id=event.event_id,
                touchpoint=event.touchpoint or trigger.touchpoint,
                org_unit=event.org_unit,
            )
            planned += 1
        event.processed_at = timezone.now()
        event.save(update_fields=["processed_at"])
        return planned


def unprocessed_event_ids(*, older_than: timedelta = timedelta(minutes=2)) -> list[int]:
    with system_context():
        return list(
            InboundEvent.all_tenants.filter(
                processed_at__isnull=True, received_at__lte=timezone.now() - older_than
            ).values_list("pk", flat=True)[:1000]
        )
