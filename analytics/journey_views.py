"""Journey pages that read analytics: the journeys list with each journey's CX index, the journey
map, the responses behind one of its cells, and the metric editor where a CX manager picks each
touchpoint's metrics, targets and weights. The map reads the daily rollups only."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics import metric_system
from analytics.cx_index import METRIC_LABELS, METRIC_RANGES, SCORED_METRICS
from analytics.filters import unit_choices, unit_parse, window_parse
from analytics.journey_map import (
    Window,
    default_nps_target,
    journey_indexes,
    journey_map_read,
    touchpoint_responses,
)
from analytics.kept_pages import kept_body
from analytics.models import Metric, OrgUnitMetricTarget, TouchpointMetric
from journeys.models import Journey, Stage, Touchpoint
from journeys.selectors import archived_journeys, journey_list
from organizations.access import has_permission, tenant_view
from organizations.models import OrgUnit

PRESET_DAYS = (30, 90)
DEFAULT_DAYS = 30
RESPONSES_PER_PAGE = 25


@dataclass
class MapFilters:
    """The window and org unit a map shows, parsed from `start`, `end` (or `days`) and `unit`;
    a unit outside the member's scope is refused and the member's own scope shown."""

    window: Window
    org_unit: OrgUnit | None
    scope: OrgUnit | None
    days: int | None
    problems: list[str] = field(default_factory=list)

    def query(self, **extra) -> str:
        params = {"start": self.window.start.isoformat(), "end": self.window.end.isoformat()}
        if self.org_unit is not None and self.org_unit != self.scope:
            params["unit"] = self.org_unit.pk
        return urlencode({**params, **extra})


def map_filters(request: HttpRequest) -> MapFilters:
    today = timezone.localdate(timezone=ZoneInfo(request.tenant.time_zone))
    chosen = window_parse(request.GET, today=today, presets=PRESET_DAYS, default_days=DEFAULT_DAYS)
    scope = request.membership.org_unit
    org_unit, unit_problems = unit_parse(request.GET, scope=scope)
    return MapFilters(
        window=chosen.window,
        org_unit=org_unit,
        scope=scope,
        days=int(chosen.preset) if chosen.preset else None,
        problems=[*chosen.problems, *unit_problems],
    )


def _filter_context(request: HttpRequest, filters: MapFilters) -> dict:
    return {
        "filters": filters,
        "query": filters.query(),
        "presets": PRESET_DAYS,
        "unit_choices": unit_choices(filters.scope, filters.org_unit),
        "whole_tenant": filters.scope is None,
    }


@tenant_view("journey.view")
def journey_index(request: HttpRequest) -> HttpResponse:
    """Every journey with its stages, touchpoints and CX index over the last 30 days in the
    member's scope, each linking to its map."""
    journeys = list(journey_list())
    filters = map_filters(request)
    indexes = journey_indexes(
        journeys, org_unit=filters.org_unit, window=filters.window, tenant=request.tenant
    )
    return render(
        request,
        "journeys/journey_map.html",
        {
            "journeys": [(journey, indexes[journey.pk]) for journey in journeys],
            "archived": archived_journeys(),
            "window": filters.window,
            "can_manage": has_permission(request.membership, "journey.manage"),
        },
    )


@tenant_view("journey.view")
def journey_detail(request: HttpRequest, journey_id: int) -> HttpResponse:
    """The journey map: stages across, touchpoints under them by channel, each cell its score
    against target, change on the previous period, volume and top negative aspect. The body is
    drawn once per change of what it shows and kept (analytics/kept_pages.py)."""
    filters = map_filters(request)
    can_manage = has_permission(request.membership, "journey.manage")

    def draw() -> tuple[str, str]:
        journey = get_object_or_404(Journey.objects.all(), pk=journey_id)
        journey_map = journey_map_read(
            journey=journey, org_unit=filters.org_unit, window=filters.window, tenant=request.tenant
        )
        context = {
            "map": journey_map,
            "can_manage": can_manage,
            **_filter_context(request, filters),
        }
        return journey.name, render_to_string("analytics/_journey_map.html", context, request)

    if filters.problems:  # shown once, with the map of the member's own scope
        name, body = draw()
    else:
        name, body = kept_body(
            tenant_id=request.tenant.pk,
            parts=(
                "journey_map",
                journey_id,
                filters.org_unit.pk if filters.org_unit else None,
                filters.scope.pk if filters.scope else None,
                filters.window,
                filters.days,
                request.LANGUAGE_CODE,
                can_manage,
            ),
            draw=draw,
        )
    return render(
        request, "analytics/journey_detail.html", {"journey_name": name, "map_body": body}
    )


@tenant_view("journey.view")
def journey_cell_responses(request: HttpRequest, journey_id: int, touchpoint_id: int):
    """The scored responses and tickets behind one map cell, in its window and subtree."""
    touchpoint = get_object_or_404(
        Touchpoint.objects.select_related("stage__journey").filter(stage__journey_id=journey_id),
        pk=touchpoint_id,
    )
    filters = map_filters(request)
    responses = touchpoint_responses(
        touchpoint=touchpoint,
        org_unit=filters.org_unit,
        window=filters.window,
        zone=ZoneInfo(request.tenant.time_zone),
    )
    page = Paginator(responses, RESPONSES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "analytics/journey_cell_responses.html",
        {
            "journey": touchpoint.stage.journey,
            "touchpoint": touchpoint,
            "page": page,
            **_filter_context(request, filters),
        },
    )


def _metric_choices(touchpoint: Touchpoint) -> list[tuple[str, str]]:
    """The metrics a touchpoint may count, as (form value, label): a rating question's value
    is "rating:<survey id>:<question key>"."""
    choices = [(m, str(METRIC_LABELS[m])) for m in SCORED_METRICS if m != Metric.RATING]
    choices += [
        (f"{Metric.RATING}:{key}", f"{METRIC_LABELS[Metric.RATING]}：{label}")
        for key, label in metric_system.rating_questions(touchpoint)
    ]
    return choices


def _editor_context(journey: Journey) -> dict:
    stages = list(Stage.objects.filter(journey=journey).order_by("position", "id"))
    touchpoints = list(
        Touchpoint.objects.filter(stage__journey=journey, archived_at__isnull=True).order_by("id")
    )
    rows = TouchpointMetric.objects.filter(touchpoint__in=touchpoints).order_by("id")
    overrides = OrgUnitMetricTarget.objects.filter(touchpoint_metric__in=rows).select_related(
        "org_unit"
    )
    by_metric: dict[int, list] = {}
    for override in overrides.order_by("org_unit__path"):
        by_metric.setdefault(override.touchpoint_metric_id, []).append(override)
    by_touchpoint: dict[int, list] = {}
    for row in rows:
        row.overrides = by_metric.get(row.pk, [])
        row.label = METRIC_LABELS[row.metric]
        row.range = METRIC_RANGES[row.metric]
        by_touchpoint.setdefault(row.touchpoint_id, []).append(row)
    return {
        "journey": journey,
        "stages": [
            (
                stage,
                [
                    (tp, by_touchpoint.get(tp.pk, []), _metric_choices(tp))
                    for tp in touchpoints
                    if tp.stage_id == stage.pk
                ],
            )
            for stage in stages
        ],
        "ranges": [(METRIC_LABELS[m], low, high) for m, (low, high) in METRIC_RANGES.items()],
    }


def _posted_row(model, request: HttpRequest, name: str, journey: Journey):
    raw = request.POST.get(name, "")
    if not raw.isdigit() or len(raw) > 18:
        raise Http404
    if model is Touchpoint:
        rows = Touchpoint.objects.filter(stage__journey=journey)
    elif model is TouchpointMetric:
        rows = TouchpointMetric.objects.filter(touchpoint__stage__journey=journey)
    else:
        rows = OrgUnitMetricTarget.objects.filter(
            touchpoint_metric__touchpoint__stage__journey=journey
        )
    return get_object_or_404(rows, pk=raw)


def _metric_edit(request: HttpRequest, journey: Journey, action: str) -> str:
    """Apply one posted change of the editor; returns the message to show."""
    post, by = request.POST, request.user
    if action == "metric_set":
        touchpoint = _posted_row(Touchpoint, request, "touchpoint", journey)
        metric, _sep, key = post.get("metric", "").partition(":")
        metric_system.touchpoint_metric_set(
            touchpoint=touchpoint,
            metric=metric,
            key=key,
            target=post.get("target", ""),
            weight=post.get("weight", ""),
            by=by,
        )
        return _("已保存「%(name)s」的指标。") % {"name": touchpoint.name}
    if action == "metric_remove":
        row = _posted_row(TouchpointMetric, request, "metric_id", journey)
        metric_system.touchpoint_metric_remove(touchpoint_metric=row, by=by)
        return _("已移除指标。")
    if action == "unit_target_set":
        row = _posted_row(TouchpointMetric, request, "metric_id", journey)
        code = post.get("unit_code", "").strip()
        unit = OrgUnit.objects.filter(code=code).first() if code else None
        if unit is None:
            raise ValidationError(_("没有编码为「%(code)s」的组织单位。") % {"code": code[:64]})
        metric_system.org_unit_target_set(
            touchpoint_metric=row, org_unit=unit, target=post.get("target", ""), by=by
        )
        return _("已为「%(unit)s」设置目标。") % {"unit": unit.name}
    if action == "unit_target_remove":
        row = _posted_row(OrgUnitMetricTarget, request, "unit_target_id", journey)
        metric_system.org_unit_target_remove(unit_target=row, by=by)
        return _("已移除该单位的目标。")
    if action == "default_target":
        metric_system.default_nps_target_set(
            tenant=request.tenant, target=post.get("target", ""), by=by
        )
        return _("已保存默认 NPS 目标。")
    raise Http404


@tenant_view("journey.manage")
def journey_metrics(request: HttpRequest, journey_id: int) -> HttpResponse:
    """The metric editor of one journey's touchpoints; works without JavaScript."""
    journey = get_object_or_404(Journey.objects.all(), pk=journey_id)
    problem = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            done = _metric_edit(request, journey, action)
        except ValidationError as error:
            problem = " ".join(error.messages)
        else:
            messages.success(request, done)
            return redirect(
                "journey_metrics", tenant_slug=request.tenant.slug, journey_id=journey.pk
            )
    context = {
        **_editor_context(journey),
        "problem": problem,
        "posted": request.POST if problem else {},
        "default_target": default_nps_target(request.tenant),
    }
    return render(
        request, "analytics/journey_metrics.html", context, status=400 if problem else 200
    )
