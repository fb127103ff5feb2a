"""Reads of the CX dashboard: its numbers (KPIs and their change on the previous period, the
weekly trend, and league tables of the child org units and of the touchpoints with a confidence
interval, change, suppression of small samples and benchmarks) from the daily metric rollups
only: a constant number of queries whatever the number of responses, units or touchpoints.

The NPS interval (docs/dashboard.md): each answer scores +1 (promoter), 0 or -1 (detractor)
and the NPS is 100 times their mean, so with shares p of promoters and d of detractors among n
answers its variance is (p + d - (p - d)^2) / n, the variance of a difference of two
proportions of one multinomial sample; the 95 % interval is NPS +/- 1.96 standard errors
(normal approximation), clipped to -100..100. Below the minimum sample (CEM_MAP_MIN_SAMPLE,
as on the journey map) no score, interval or change is shown.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from statistics import median

from django.utils.translation import gettext as _

from analytics.filters import DashboardFilters
from analytics.journey_map import min_sample
from analytics.metric_rollups import Totals
from analytics.models import Metric
from analytics.selectors import MetricSummary, SumsBy, metric_sums, response_sums
from journeys.models import Touchpoint
from organizations.models import OrgUnit

SUMMARY_METRICS = [Metric.RESPONSES, Metric.NPS, Metric.CSAT, Metric.CES]
Z_95 = 1.96

Cells = dict[tuple[str, str], Totals]


def nps_interval(promoters: int, detractors: int, n: int) -> tuple[float, float] | None:
    """The 95 % confidence interval of an NPS (see the module's docstring); None without
    answers."""
    if n <= 0:
        return None
    p, d = promoters / n, detractors / n
    error = Z_95 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)
    nps = p - d
    return round(max(-1.0, nps - error) * 100, 1), round(min(1.0, nps + error) * 100, 1)


def _grouped(sums: Mapping[tuple, Totals]) -> dict[object, Cells]:
    """Sums keyed by (group, metric, key) as {group: {(metric, key): totals}}."""
    grouped: dict[object, Cells] = {}
    for (group, metric, key), totals in sums.items():
        cells = grouped.setdefault(group, {})
        cells[(metric, key)] = cells.get((metric, key), Totals()).plus(totals)
    return grouped


def _merged(cells: Iterable[Cells]) -> Cells:
    merged: Cells = {}
    for one in cells:
        for cell, totals in one.items():
            merged[cell] = merged.get(cell, Totals()).plus(totals)
    return merged


@dataclass(frozen=True)
class LeagueRow:
    """One unit or touchpoint of a league table: its numbers now and in the previous period,
    and the parent's score and peers' median it is benchmarked against."""

    label: str
    unit: OrgUnit | None
    touchpoint: Touchpoint | None
    summary: MetricSummary
    previous: MetricSummary
    promoters: int
    detractors: int
    min_sample: int
    parent_nps: float | None = None
    peers_median: float | None = None

    @property
    def suppressed(self) -> bool:
        return self.summary.nps_count < self.min_sample

    @property
    def interval(self) -> tuple[float, float] | None:
        if self.suppressed:
            return None
        return nps_interval(self.promoters, self.detractors, self.summary.nps_count)

    @property
    def change(self) -> float | None:
        if self.suppressed or self.previous.nps_count < self.min_sample:
            return None
        return round(self.summary.nps - self.previous.nps, 1)

    def _against(self, other: float | None) -> float | None:
        if self.suppressed or other is None or self.summary.nps is None:
            return None
        return round(self.summary.nps - other, 1)

    @property
    def vs_parent(self) -> float | None:
        return self._against(self.parent_nps)

    @property
    def vs_peers(self) -> float | None:
        return self._against(self.peers_median)


# Rows a league table prints: the best and (suppressed ones aside) the first ones below them;
# a bank's 500 touchpoints or a region's 200 branches are narrowed with the filters instead.
LEAGUE_ROWS = 50


@dataclass(frozen=True)
class League:
    rows: list[LeagueRow]
    parent_nps: float | None
    peers_median: float | None

    @property
    def shown(self) -> list[LeagueRow]:
        return self.rows[:LEAGUE_ROWS]

    @property
    def hidden(self) -> int:
        return max(len(self.rows) - LEAGUE_ROWS, 0)


def _league(
    entries: list[tuple[str, OrgUnit | None, Touchpoint | None, Cells, Cells]],
    *,
    parent_nps: float | None,
    sample: int,
) -> League:
    """League rows from (label, unit, touchpoint, cells now, cells before), ranked by NPS with
    the suppressed rows last; the peers' median is of the rows that are shown with a score."""
    rows = []
    for label, unit, touchpoint, now, before in entries:
        nps = now.get((Metric.NPS, ""), Totals())
        rows.append(
            LeagueRow(
                label=label,
                unit=unit,
                touchpoint=touchpoint,
                summary=MetricSummary.from_totals(now),
                previous=MetricSummary.from_totals(before),
                promoters=nps.good,
                detractors=nps.bad,
                min_sample=sample,
            )
        )
    scored = [row.summary.nps for row in rows if not row.suppressed]
    peers = round(median(scored), 1) if scored else None
    rows = [replace(row, parent_nps=parent_nps, peers_median=peers) for row in rows]
    rows.sort(key=lambda row: (row.suppressed, -(row.summary.nps or 0), -row.summary.nps_count))
    return League(rows=rows, parent_nps=parent_nps, peers_median=peers)


@dataclass(frozen=True)
class Dashboard:
    summary: MetricSummary
    previous: MetricSummary
    trend: list[tuple[date, MetricSummary]]
    units: League | None  # the child units of the unit shown; None at a unit without any
    touchpoints: League
    min_sample: int

    @property
    def nps_change(self) -> float | None:
        if self.summary.nps is None or self.previous.nps is None:
            return None
        return round(self.summary.nps - self.previous.nps, 1)


def tp_label(touchpoint: Touchpoint) -> str:
    return f"{touchpoint.stage.journey.name} / {touchpoint.name}"


def _weekly(by_day: dict[object, Cells]) -> list[tuple[date, MetricSummary]]:
    """The days' sums added up per week (from Monday), oldest first."""
    weeks: dict[date, list[Cells]] = {}
    for day, cells in by_day.items():
        weeks.setdefault(day - timedelta(days=day.weekday()), []).append(cells)
    return [(week, MetricSummary.from_totals(_merged(weeks[week]))) for week in sorted(weeks)]


def _sums(
    filters: DashboardFilters,
    *,
    org_units: list[OrgUnit | None],
    by: SumsBy,
    periods: list[tuple[date, date]],
    touchpoint_ids: list[int] | None,
) -> list[dict[tuple, Totals]]:
    """The summary metrics' sums per period: from the rollups, or counted from the scored
    responses where the filters name what the rollups do not keep (survey, customer tag)."""
    if filters.narrows_responses:
        return response_sums(
            org_units=org_units,
            periods=periods,
            touchpoint_ids=touchpoint_ids,
            by=by,
            survey_id=filters.survey.pk if filters.survey else None,
            tag=filters.tag,
        )
    return metric_sums(
        org_unit_ids=[unit.pk if unit else 0 for unit in org_units],
        periods=periods,
        touchpoint_ids=touchpoint_ids,
        by=by,
        metrics=SUMMARY_METRICS,
    )


def dashboard_read(*, filters: DashboardFilters, catalogue: list[Touchpoint]) -> Dashboard:
    """The dashboard of `filters` (already inside the member's scope) from the rollups, with
    `catalogue` every touchpoint of the tenant with its stage and journey: four queries
    whatever the size of the tenant. A survey or customer-tag filter counts the scored
    responses instead (the rollups do not keep those): as many queries, each reading the
    responses the filters leave."""
    chosen = filters.touchpoints_of(catalogue)
    touchpoint_ids = None if chosen is None else [tp.pk for tp in chosen]
    unit = filters.org_unit
    window, before = filters.window, filters.window.previous
    periods = [(window.start, window.end), (before.start, before.end)]
    common = {"periods": periods, "touchpoint_ids": touchpoint_ids}
    # The KPIs of both periods are the sums of the touchpoints' (touchpoint 0 included); the
    # days, for the trend, are read for the window only.
    tp_now, tp_before = (
        _grouped(sums) for sums in _sums(filters, org_units=[unit], by="touchpoint_id", **common)
    )
    (days_now,) = _sums(
        filters, org_units=[unit], by="day", periods=periods[:1], touchpoint_ids=touchpoint_ids
    )
    summary = MetricSummary.from_totals(_merged(tp_now.values()))
    sample = min_sample()
    entries = [
        (tp_label(tp), None, tp, tp_now[tp.pk], tp_before.get(tp.pk, {}))
        for tp in catalogue
        if tp.pk in tp_now
    ]
    if 0 in tp_now:  # answers given through a link bound to no touchpoint
        entries.append((_("未绑定触点"), None, None, tp_now[0], tp_before.get(0, {})))
    touchpoint_league = _league(entries, parent_nps=summary.nps, sample=sample)

    children = list(
        OrgUnit.objects.filter(parent=unit) if unit else OrgUnit.objects.filter(parent=None)
    )
    units = None
    if children:
        unit_now, unit_before = (
            _grouped(sums)
            for sums in _sums(filters, org_units=children, by="org_unit_id", **common)
        )
        units = _league(
            [
                (child.name, child, None, unit_now.get(child.pk, {}), unit_before.get(child.pk, {}))
                for child in children
            ],
            parent_nps=summary.nps if unit else None,
            sample=sample,
        )
    return Dashboard(
        summary=summary,
        previous=MetricSummary.from_totals(_merged(tp_before.values())),
        trend=_weekly(_grouped(days_now)),
        units=units,
        touchpoints=touchpoint_league,
        min_sample=sample,
    )
