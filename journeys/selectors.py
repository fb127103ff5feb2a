"""Reads of journeys: the journey map with its stages and touchpoints in three queries."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from journeys.models import Journey, Stage, Touchpoint


def journey_list() -> QuerySet[Journey]:
    touchpoints = Touchpoint.objects.select_related("org_unit").order_by("id")
    stages = Stage.objects.order_by("position", "id").prefetch_related(
        Prefetch("touchpoints", queryset=touchpoints)
    )
    return Journey.objects.prefetch_related(Prefetch("stages", queryset=stages)).order_by("name")


def touchpoint_list() -> QuerySet[Touchpoint]:
    return Touchpoint.objects.select_related("stage__journey", "org_unit").order_by(
        "stage__journey__name", "stage__position", "id"
    )
