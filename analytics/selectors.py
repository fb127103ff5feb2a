"""Reads of analytics: the dashboard's metrics, trends, per-touchpoint table and verbatims.

Every aggregate runs in the database (one query each), scoped to the member's org subtree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncWeek
from django.utils import timezone

from analytics.models import NpsCategory, ResponseScore
from analytics.scoring import net_promoter_score

DEFAULT_PERIOD_DAYS = 90


@dataclass(frozen=True)
class MetricSummary:
    responses: int
    nps: float | None
    nps_count: int
    csat: float | None
    csat_count: int
    ces: float | None
    ces_count: int

    @classmethod
    def from_row(cls, row: dict) -> MetricSummary:
        return cls(
            responses=row["responses"],
            nps=net_promoter_score(row["promoters"], row["detractors"], row["nps_count"]),
            nps_count=row["nps_count"],
            csat=round(row["csat_mean"], 2) if row["csat_mean"] is not None else None,
            csat_count=row["csat_count"],
            ces=round(row["ces_mean"], 2) if row["ces_mean"] is not None else None,
            ces_count=row["ces_count"],
        )


_AGGREGATES = {
    "responses": Count("id"),
    "promoters": Count("id", filter=Q(nps_category=NpsCategory.PROMOTER)),
    "detractors": Count("id", filter=Q(nps_category=NpsCategory.DETRACTOR)),
    "nps_count": Count("nps"),
    "csat_mean": Avg("csat"),
    "csat_count": Count("csat"),
    "ces_mean": Avg("ces"),
    "ces_count": Count("ces"),
}


def scores_in_scope(
    *, scope_path: str = "", since: datetime | None = None
) -> QuerySet[ResponseScore]:
    since = since or timezone.now() - timedelta(days=DEFAULT_PERIOD_DAYS)
    scores = ResponseScore.objects.filter(response__submitted_at__gte=since)
    if scope_path:
        scores = scores.filter(response__org_unit__path__startswith=scope_path)
    return scores


def metric_summary(scores: QuerySet[ResponseScore]) -> MetricSummary:
    return MetricSummary.from_row(scores.aggregate(**_AGGREGATES))


def metric_trend_by_week(scores: QuerySet[ResponseScore]) -> list[tuple[datetime, MetricSummary]]:
    rows = (
        scores.annotate(week=TruncWeek("response__submitted_at"))
        .values("week")
        .annotate(**_AGGREGATES)
        .order_by("week")
    )
    return [(row["week"], MetricSummary.from_row(row)) for row in rows]


@dataclass(frozen=True)
class TouchpointMetrics:
    touchpoint_id: int | None
    name: str
    journey: str
    summary: MetricSummary


def metric_by_touchpoint(scores: QuerySet[ResponseScore]) -> list[TouchpointMetrics]:
    rows = (
        scores.values(
            "response__touchpoint_id",
            "response__touchpoint__name",
            "response__touchpoint__stage__journey__name",
        )
        .annotate(**_AGGREGATES)
        .order_by("-responses")
    )
    return [
        TouchpointMetrics(
            touchpoint_id=row["response__touchpoint_id"],
            name=row["response__touchpoint__name"] or "",
            journey=row["response__touchpoint__stage__journey__name"] or "",
            summary=MetricSummary.from_row(row),
        )
        for row in rows
    ]


def latest_verbatims(
    scores: QuerySet[ResponseScore], *, limit: int = 10
) -> QuerySet[ResponseScore]:
    return (
        scores.exclude(verbatim="")
        .select_related("response__touchpoint", "response__org_unit")
        .order_by("-response__submitted_at")[:limit]
    )
