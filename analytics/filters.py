"""What a page of numbers shows, parsed from its query string in one place: a window of whole
days of the tenant's time zone and an org unit inside the member's scope (the journey map and
the dashboard), and the dashboard's touchpoint filters (journey, stage, touchpoint, channel,
key moment), which the daily metric rollups serve because each names a set of touchpoints.

A survey filter is not offered: the rollups are kept per touchpoint and unit, not per survey,
and the dashboard does not fall back to reading the raw responses.

Bad input is never widened silently: each problem comes back as a message, the window falls
back to the default and the unit to the member's own scope, and the dashboard answers 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from operator import attrgetter
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.journey_map import Window
from analytics.selectors import ScoresWhere
from journeys.models import Channel, Journey, KeyMoment, Stage, Touchpoint
from organizations.models import Membership, OrgUnit, Tenant
from organizations.selectors import org_unit_find
from surveys.models import Survey

MAX_DAYS = 366
TAG_MAX = 64
# The longest query string of filters taken for a file (an export, a report): a view's is far
# shorter.
QUERY_MAX = 500
EARLIEST = date(2000, 1, 1)  # keeps the previous period within the calendar
QUARTER = "quarter"


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


@dataclass(frozen=True)
class WindowChoice:
    """A window and the preset it matches ("7", "30", "90", "quarter"; None: custom dates)."""

    window: Window
    preset: str | None
    problems: list[str]


def window_parse(
    params: Mapping[str, str],
    *,
    today: date,
    presets: tuple[int, ...],
    default_days: int,
    quarter: bool = False,
) -> WindowChoice:
    """The window of `days` (a preset, or "quarter" where offered: from the quarter's first day
    to today) or of `start` and `end` (both included); the last `default_days` days when none
    is given or what is given is refused, with the reason in `problems`."""
    problems: list[str] = []
    raw_days = params.get("days", "")
    preset = None
    if raw_days.isdigit() and int(raw_days) in presets:
        preset = raw_days
    elif quarter and raw_days == QUARTER:
        preset = QUARTER
    elif raw_days:
        problems.append(_("请选择列出的时间范围。"))
    start, end = _date(params.get("start", "")), _date(params.get("end", ""))
    if preset is None and (params.get("start") or params.get("end")):
        if start is None or end is None:
            problems.append(_("请输入有效的开始和结束日期（YYYY-MM-DD）。"))
        elif start < EARLIEST or end > today + timedelta(days=MAX_DAYS):
            problems.append(_("日期超出可查询的范围。"))
        elif end < start:
            problems.append(_("结束日期不能早于开始日期。"))
        elif (end - start).days + 1 > MAX_DAYS:
            problems.append(_("时间范围最长 %(days)s 天。") % {"days": MAX_DAYS})
    if preset is None and (problems or start is None or end is None):
        preset = str(default_days)
    if preset == QUARTER:
        return WindowChoice(Window(quarter_start(today), today), preset, problems)
    if preset is not None:
        first = today - timedelta(days=int(preset) - 1)
        return WindowChoice(Window(first, today), preset, problems)
    days = (end - start).days + 1
    matched = str(days) if days in presets and end == today else None
    return WindowChoice(Window(start, end), matched, problems)


def unit_parse(params: Mapping[str, str], *, scope: OrgUnit | None) -> tuple[OrgUnit | None, list]:
    """The org unit named by `unit` if it is inside `scope` (None: the whole tenant); else the
    scope itself, with the refusal in the problems."""
    raw = params.get("unit", "")
    if not raw:
        return scope, []
    chosen = org_unit_find(int(raw)) if raw.isdigit() and len(raw) < 19 else None
    if chosen is None or not chosen.path.startswith(scope.path if scope else ""):
        return scope, [_("所选组织单位不在您的查看范围内，已显示您范围内的数据。")]
    return chosen, []


def unit_choices(scope: OrgUnit | None, shown: OrgUnit | None) -> list[tuple[int, str]]:
    """The units a unit filter offers: the path from the top (or the member's scope) down to
    the unit shown, and that unit's active children: a drill-down one level at a time, never a
    list of every branch (thousands at a bank). One query."""
    if shown is None:
        roots = OrgUnit.objects.filter(parent__isnull=True).values("pk")
        nearby = Q(parent__isnull=True) | Q(parent_id__in=roots, is_active=True)
    else:
        ancestors = [int(part) for part in shown.path.split("/") if part]
        nearby = Q(pk__in=ancestors) | Q(parent=shown, is_active=True)
    units = OrgUnit.objects.filter(nearby).order_by("path")
    if scope is not None:
        units = units.filter(path__startswith=scope.path)
    return [
        (pk, "\u3000" * (path.count("/") - 1) + name)
        for pk, name, path in units.values_list("pk", "name", "path")
    ]


DASHBOARD_PRESETS = (7, 30, 90)
DASHBOARD_DEFAULT_DAYS = 90


def _row(model, raw: str, problem: str, problems: list[str]):
    """The current tenant's row of `model` with the id `raw`, or None (with `problem` noted
    when something was asked for)."""
    if not raw:
        return None
    row = model.objects.filter(pk=raw).first() if raw.isdigit() and len(raw) < 19 else None
    if row is None:
        problems.append(problem)
    return row


@dataclass
class DashboardFilters:
    """What the dashboard shows: a window, an org unit inside the member's scope, and the
    touchpoints named by journey, stage, touchpoint, channel and key moment (all of them when
    none is given). `query()` writes them back as the bookmarkable query string."""

    window: Window
    preset: str | None
    org_unit: OrgUnit | None
    scope: OrgUnit | None
    journey: Journey | None = None
    stage: Stage | None = None
    touchpoint: Touchpoint | None = None
    channel: str = ""
    key_moment: str = ""
    survey: Survey | None = None
    tag: str = ""  # a customer tag
    problems: list[str] = field(default_factory=list)

    @property
    def narrows_responses(self) -> bool:
        """Whether a filter names what the rollups do not keep (the survey, a customer tag):
        the numbers are then counted from the scored responses."""
        return self.survey is not None or bool(self.tag)

    @property
    def narrows_touchpoints(self) -> bool:
        rows = (self.journey, self.stage, self.touchpoint)
        return any(row is not None for row in rows) or bool(self.channel or self.key_moment)

    def touchpoints_of(self, catalogue: list[Touchpoint]) -> list[Touchpoint] | None:
        """The touchpoints of `catalogue` (every touchpoint with its stage; archived ones too:
        their answers still count) that the filters leave; None when no filter narrows them."""
        if not self.narrows_touchpoints:
            return None
        wanted = {
            "stage.journey_id": self.journey.pk if self.journey else None,
            "stage_id": self.stage.pk if self.stage else None,
            "pk": self.touchpoint.pk if self.touchpoint else None,
            "channel": self.channel or None,
            "key_moment": self.key_moment or None,
        }
        return [
            tp
            for tp in catalogue
            if all(value is None or attrgetter(name)(tp) == value for name, value in wanted.items())
        ]

    def scores_where(self, catalogue: list[Touchpoint], *, zone: ZoneInfo) -> ScoresWhere:
        """The scored responses these filters leave, for the reads that take them one by one
        (verbatims, key drivers)."""
        chosen = self.touchpoints_of(catalogue)
        since, until = self.window.instants(zone)
        return ScoresWhere(
            since=since,
            until=until,
            org_unit_path=self.org_unit.path if self.org_unit else "",
            touchpoint_ids=None if chosen is None else [tp.pk for tp in chosen],
            survey_id=self.survey.pk if self.survey else None,
            tag=self.tag,
        )

    def params(self) -> dict[str, str]:
        if self.preset is not None:
            found = {"days": self.preset}
        else:
            found = {"start": self.window.start.isoformat(), "end": self.window.end.isoformat()}
        if self.org_unit is not None and self.org_unit != self.scope:
            found["unit"] = str(self.org_unit.pk)
        for name in ("journey", "stage", "touchpoint"):
            row = getattr(self, name)
            if row is not None:
                found[name] = str(row.pk)
        if self.channel:
            found["channel"] = self.channel
        if self.key_moment:
            found["key_moment"] = self.key_moment
        if self.survey is not None:
            found["survey"] = str(self.survey.pk)
        if self.tag:
            found["tag"] = self.tag
        return found

    def query(self, **changes) -> str:
        """The query string of these filters with `changes` (a value of None drops a key)."""
        params = {**self.params(), **changes}
        return urlencode({key: value for key, value in params.items() if value is not None})


def dashboard_filters(
    params: Mapping[str, str], *, membership: Membership, today: date
) -> DashboardFilters:
    """Parse the dashboard's query string; the member's scope always applies on top."""
    return dashboard_filters_within(params, scope=membership.org_unit, today=today)


def dashboard_filters_within(
    params: Mapping[str, str], *, scope: OrgUnit | None, today: date
) -> DashboardFilters:
    """Parse the dashboard's query string inside the subtree of `scope` (None: the tenant), as
    a member scoped there sees it; a scheduled report reads its unit's view so."""
    chosen = window_parse(
        params,
        today=today,
        presets=DASHBOARD_PRESETS,
        default_days=DASHBOARD_DEFAULT_DAYS,
        quarter=True,
    )
    org_unit, unit_problems = unit_parse(params, scope=scope)
    problems = [*chosen.problems, *unit_problems]
    journey = _row(Journey, params.get("journey", ""), _("所选旅程不存在。"), problems)
    stage = _row(Stage, params.get("stage", ""), _("所选阶段不存在。"), problems)
    touchpoint = _row(Touchpoint, params.get("touchpoint", ""), _("所选触点不存在。"), problems)
    channel = params.get("channel", "")
    if channel and channel not in Channel.values:
        problems.append(_("所选渠道不存在。"))
        channel = ""
    key_moment = params.get("key_moment", "")
    if key_moment and key_moment not in KeyMoment.values:
        problems.append(_("所选关键时刻不存在。"))
        key_moment = ""
    survey = _row(Survey, params.get("survey", ""), _("所选问卷不存在。"), problems)
    tag = params.get("tag", "").strip()
    if len(tag) > TAG_MAX or "\x00" in tag:
        problems.append(_("客户标签最长 %(n)d 个字符。") % {"n": TAG_MAX})
        tag = ""
    return DashboardFilters(
        window=chosen.window,
        preset=chosen.preset,
        org_unit=org_unit,
        scope=scope,
        journey=journey,
        stage=stage,
        touchpoint=touchpoint,
        channel=channel,
        key_moment=key_moment,
        survey=survey,
        tag=tag,
        problems=problems,
    )


def dashboard_filters_refused(
    query: str, *, scope: OrgUnit | None, tenant: Tenant, today: date | None = None
) -> DashboardFilters:
    """The dashboard's filters of `query` inside the subtree of `scope`, today being the
    tenant's; refused (ValidationError with the reasons) where the dashboard would have fallen
    back to its default view: what leaves as a file is never widened silently."""
    if len(query) > QUERY_MAX:  # cut short, a filter at its end would be dropped: widened
        raise ValidationError(_("筛选条件过长。"))
    if today is None:
        today = timezone.localdate(timezone=ZoneInfo(tenant.time_zone))
    filters = dashboard_filters_within(QueryDict(query), scope=scope, today=today)
    if filters.problems:
        raise ValidationError(filters.problems)
    return filters
