"""Reads of the journey map: each touchpoint's CX index against its targets, its change on the
previous period, volume and top negative aspect, rolled up to stages and the journey, from
the daily metric rollups only (a constant number of queries, whatever the number of
touchpoints); and the responses behind one cell.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet

from analytics.cx_index import (
    DEFAULT_NPS_TARGET,
    CellScore,
    MetricSpec,
    RolledUp,
    cell_score,
    roll_up,
)
from analytics.metric_rollups import Totals
from analytics.models import Metric, OrgUnitMetricTarget, TouchpointMetric
from analytics.selectors import metric_totals, metric_totals_of_periods
from journeys.models import Journey, Stage, Touchpoint
from organizations.models import OrgUnit, Tenant
from surveys.definition import DEFAULT_LANGUAGE, iter_questions, localized
from surveys.models import Response, SurveyVersion

DEFAULT_NPS_TARGET_SETTING = "cx_default_nps_target"  # key in Tenant.settings


def min_sample() -> int:
    return settings.CEM_MAP_MIN_SAMPLE


def default_nps_target(tenant: Tenant) -> float:
    value = (tenant.settings or {}).get(DEFAULT_NPS_TARGET_SETTING, DEFAULT_NPS_TARGET)
    return float(value)


@dataclass(frozen=True)
class Window:
    """Whole days of the tenant's time zone, both ends included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> Window:
        """The period of the same length just before."""
        return Window(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def instants(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[since, until) as aware instants."""
        since = datetime.combine(self.start, time.min, tzinfo=zone)
        return since, datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone)


def unit_ancestor_ids(org_unit: OrgUnit | None) -> list[int]:
    """The unit and its ancestors, nearest first."""
    if org_unit is None:
        return []
    return [int(part) for part in reversed(org_unit.path.split("/")) if part]


def metric_specs(
    touchpoint_ids: Iterable[int], *, org_unit: OrgUnit | None, default_target: float
) -> dict[int, list[MetricSpec]]:
    """Each touchpoint's chosen metrics with the targets that apply to `org_unit`'s map: the
    nearest override of the unit or an ancestor, else the tenant-wide target. A touchpoint with
    none counts NPS against `default_target`. Two queries."""
    touchpoint_ids = list(touchpoint_ids)
    rows = list(TouchpointMetric.objects.filter(touchpoint_id__in=touchpoint_ids).order_by("id"))
    overrides: dict[int, float] = {}
    ancestors = unit_ancestor_ids(org_unit)
    if ancestors and rows:
        nearness = {unit_id: depth for depth, unit_id in enumerate(ancestors)}
        found = OrgUnitMetricTarget.objects.filter(
            touchpoint_metric__in=[row.pk for row in rows], org_unit_id__in=ancestors
        ).values_list("touchpoint_metric_id", "org_unit_id", "target")
        for metric_id, _unit_id, target in sorted(found, key=lambda f: -nearness[f[1]]):
            overrides[metric_id] = target  # the nearest unit comes last and wins
    labels = rating_labels([row.key for row in rows if row.metric == Metric.RATING])
    specs: dict[int, list[MetricSpec]] = {}
    for row in rows:
        specs.setdefault(row.touchpoint_id, []).append(
            MetricSpec(
                row.metric,
                row.key,
                overrides.get(row.pk, row.target),
                row.weight,
                labels.get(row.key, ""),
            )
        )
    default = [MetricSpec(Metric.NPS, "", default_target, 1.0)]
    return {touchpoint_id: specs.get(touchpoint_id, default) for touchpoint_id in touchpoint_ids}


def rating_labels(keys: list[str]) -> dict[str, str]:
    """The question texts of rating rollup keys ("<survey id>:<question key>"), from each
    survey's live version (its latest draft before it is published): one query, none without
    keys."""
    wanted: dict[int, set[str]] = {}
    for key in keys:
        survey_id, _sep, question_key = key.partition(":")
        if survey_id.isdigit():
            wanted.setdefault(int(survey_id), set()).add(question_key)
    if not wanted:
        return {}
    chosen: dict[int, dict] = {}
    for survey_id, pk, live_id, definition in (
        SurveyVersion.objects.filter(survey_id__in=wanted)
        .order_by("number")
        .values_list("survey_id", "pk", "survey__live_version_id", "definition")
    ):
        if live_id is None or pk == live_id:
            chosen[survey_id] = definition
    labels = {}
    for survey_id, definition in chosen.items():
        for question in iter_questions(definition):
            if question.get("key") in wanted[survey_id]:
                text = localized(question.get("text"), DEFAULT_LANGUAGE)
                labels[f"{survey_id}:{question['key']}"] = text
    return labels


def _by_touchpoint(
    totals: dict[tuple[int, str, str], Totals],
) -> dict[int, dict[tuple[str, str], Totals]]:
    grouped: dict[int, dict[tuple[str, str], Totals]] = {}
    for (touchpoint_id, metric, key), value in totals.items():
        grouped.setdefault(touchpoint_id, {})[(metric, key)] = value
    return grouped


def top_negative_aspect(totals: dict[tuple[str, str], Totals]) -> tuple[str, int] | None:
    mentions = [(value.n, key) for (metric, key), value in totals.items() if metric == "aspect"]
    mentions = [(n, key) for n, key in mentions if n > 0]
    if not mentions:
        return None
    n, key = min(mentions, key=lambda mention: (-mention[0], mention[1]))
    return key, n


@dataclass(frozen=True)
class MapCell:
    touchpoint: Touchpoint
    score: CellScore
    previous: CellScore
    top_aspect: tuple[str, int] | None

    @property
    def change(self) -> float | None:
        if self.score.index is None or self.previous.index is None:
            return None
        return self.score.index - self.previous.index


@dataclass(frozen=True)
class ChannelGroup:
    channel: str
    label: str
    cells: list[MapCell]


@dataclass(frozen=True)
class MapStage:
    stage: Stage
    channels: list[ChannelGroup]
    score: RolledUp
    previous: RolledUp


@dataclass(frozen=True)
class JourneyMap:
    journey: Journey
    window: Window
    stages: list[MapStage]
    score: RolledUp
    previous: RolledUp
    min_sample: int

    @property
    def change(self) -> float | None:
        if self.score.index is None or self.previous.index is None:
            return None
        return self.score.index - self.previous.index


def _cells_scored(
    touchpoints: list[Touchpoint],
    specs: dict[int, list[MetricSpec]],
    totals: dict[tuple[int, str, str], Totals],
    *,
    sample: int,
) -> dict[int, CellScore]:
    grouped = _by_touchpoint(totals)
    return {
        tp.pk: cell_score(specs[tp.pk], grouped.get(tp.pk, {}), min_sample=sample)
        for tp in touchpoints
    }


def journey_map_read(
    *, journey: Journey, org_unit: OrgUnit | None, window: Window, tenant: Tenant
) -> JourneyMap:
    """The map of `journey` for the subtree of `org_unit` (None: the whole tenant) over
    `window`, from the rollups: six queries whatever the size of the journey."""
    stages = list(Stage.objects.filter(journey=journey).order_by("position", "id"))
    touchpoints = list(
        Touchpoint.objects.filter(stage__journey=journey, archived_at__isnull=True).order_by(
            "channel", "id"
        )
    )
    ids = [tp.pk for tp in touchpoints]
    specs = metric_specs(ids, org_unit=org_unit, default_target=default_nps_target(tenant))
    unit_id = org_unit.pk if org_unit else 0
    sample = min_sample()
    before = window.previous
    now_totals, before_totals = metric_totals_of_periods(
        org_unit_id=unit_id,
        periods=[(window.start, window.end), (before.start, before.end)],
        touchpoint_ids=ids,
    )
    now = _cells_scored(touchpoints, specs, now_totals, sample=sample)
    then = _cells_scored(touchpoints, specs, before_totals, sample=sample)
    grouped = _by_touchpoint(now_totals)
    labels = dict(Touchpoint._meta.get_field("channel").choices)
    map_stages = []
    for stage in stages:
        mine = [tp for tp in touchpoints if tp.stage_id == stage.pk]
        channels: dict[str, list[MapCell]] = {}
        for tp in mine:
            channels.setdefault(tp.channel, []).append(
                MapCell(tp, now[tp.pk], then[tp.pk], top_negative_aspect(grouped.get(tp.pk, {})))
            )
        map_stages.append(
            MapStage(
                stage=stage,
                channels=[
                    ChannelGroup(channel, str(labels.get(channel, channel)), cells)
                    for channel, cells in channels.items()
                ],
                score=roll_up((now[tp.pk], tp.key_moment) for tp in mine),
                previous=roll_up((then[tp.pk], tp.key_moment) for tp in mine),
            )
        )
    return JourneyMap(
        journey=journey,
        window=window,
        stages=map_stages,
        score=roll_up((now[tp.pk], tp.key_moment) for tp in touchpoints),
        previous=roll_up((then[tp.pk], tp.key_moment) for tp in touchpoints),
        min_sample=sample,
    )


def journey_indexes(
    journeys: list[Journey], *, org_unit: OrgUnit | None, window: Window, tenant: Tenant
) -> dict[int, RolledUp]:
    """Each journey's CX index (journeys with stages and touchpoints prefetched): three queries
    for any number of journeys."""
    touchpoints = [
        tp
        for journey in journeys
        for stage in journey.stages.all()
        for tp in stage.touchpoints.all()
    ]
    ids = [tp.pk for tp in touchpoints]
    specs = metric_specs(ids, org_unit=org_unit, default_target=default_nps_target(tenant))
    totals = metric_totals(
        org_unit_id=org_unit.pk if org_unit else 0,
        start=window.start,
        end=window.end,
        touchpoint_ids=ids,
    )
    cells = _cells_scored(touchpoints, specs, totals, sample=min_sample())
    return {
        journey.pk: roll_up(
            (cells[tp.pk], tp.key_moment)
            for stage in journey.stages.all()
            for tp in stage.touchpoints.all()
        )
        for journey in journeys
    }


def touchpoint_responses(
    *, touchpoint: Touchpoint, org_unit: OrgUnit | None, window: Window, zone: ZoneInfo
) -> QuerySet[Response]:
    """The scored responses behind one map cell: the touchpoint's, in the window and the unit's
    subtree, newest first, with their scores and tickets."""
    since, until = window.instants(zone)
    responses = Response.objects.filter(
        touchpoint=touchpoint,
        score__isnull=False,
        submitted_at__gte=since,
        submitted_at__lt=until,
    )
    if org_unit is not None:
        responses = responses.filter(org_unit__path__startswith=org_unit.path)
    return (
        responses.select_related("score", "org_unit")
        .prefetch_related("tickets")
        .order_by("-submitted_at", "-id")
    )
