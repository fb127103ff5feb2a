"""Reads of journeys: the journey map with its stages and touchpoints in three queries."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from journeys.models import Journey, Stage, Touchpoint


def journey_list(*, include_archived: bool = False) -> QuerySet[Journey]:
    """The journeys with their stages and active touchpoints (archived ones are off the map)."""
    touchpoints = (
        Touchpoint.objects.filter(archived_at__isnull=True)
        .select_related("org_unit")
        .order_by("id")
    )
    stages = Stage.objects.order_by("position", "id").prefetch_related(
        Prefetch("touchpoints", queryset=touchpoints)
    )
    journeys = Journey.objects.prefetch_related(Prefetch("stages", queryset=stages))
    if not include_archived:
        journeys = journeys.filter(archived_at__isnull=True)
    return journeys.order_by("name")


def archived_journeys() -> QuerySet[Journey]:
    return Journey.objects.filter(archived_at__isnull=False).order_by("name")


def touchpoint_list() -> QuerySet[Touchpoint]:
    return Touchpoint.objects.select_related("stage__journey", "org_unit").order_by(
        "stage__journey__name", "stage__position", "id"
    )
