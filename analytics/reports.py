"""The dashboard as files a manager forwards (docs/reports.md): an Excel workbook (summary,
league tables, weekly trend) and a printed PDF report (the same, with its charts drawn as
inline SVG), of one view of the dashboard: its filters inside a scope. Both come back as bytes,
for the download links and the scheduled reports alike."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from analytics.dashboard import Dashboard, League, dashboard_read
from analytics.filters import DashboardFilters
from analytics.selectors import MetricSummary, touchpoint_catalogue
from journeys.models import Channel, KeyMoment
from organizations.models import Tenant
from organizations.pdf import pdf_from_html
from organizations.spreadsheets import xlsx_write


@dataclass(frozen=True)
class DashboardReport:
    """One view of the dashboard, read once, with what its files print about it."""

    tenant: Tenant
    filters: DashboardFilters
    board: Dashboard
    made_at: datetime  # in the tenant's time zone

    @property
    def unit_name(self) -> str:
        unit = self.filters.org_unit
        return unit.name if unit is not None else self.tenant.name

    @property
    def title(self) -> str:
        return _("%(unit)s 客户体验报告") % {"unit": self.unit_name}

    @property
    def period(self) -> str:
        window = self.filters.window
        return f"{window.start:%Y-%m-%d} – {window.end:%Y-%m-%d}"

    def filename(self, extension: str) -> str:
        window = self.filters.window
        return f"cx-report-{window.start:%Y%m%d}-{window.end:%Y%m%d}.{extension}"

    def filter_lines(self) -> list[tuple[str, str]]:
        """The filters in words: the period and unit, then each other filter set."""
        filters = self.filters
        lines = [(_("时间范围"), self.period), (_("组织单位"), self.unit_name)]
        named = [
            (_("旅程"), filters.journey.name if filters.journey else ""),
            (_("阶段"), filters.stage.name if filters.stage else ""),
            (_("触点"), filters.touchpoint.name if filters.touchpoint else ""),
            (_("渠道"), str(Channel(filters.channel).label) if filters.channel else ""),
            (
                _("关键时刻"),
                str(KeyMoment(filters.key_moment).label) if filters.key_moment else "",
            ),
            (_("问卷"), filters.survey.name if filters.survey else ""),
            (_("客户标签"), filters.tag),
        ]
        return lines + [(name, value) for name, value in named if value]


def report_read(*, filters: DashboardFilters, tenant: Tenant) -> DashboardReport:
    """The report of `filters` (already inside the scope it is made for), in the current
    tenant: the dashboard's reads, nothing more."""
    board = dashboard_read(filters=filters, catalogue=touchpoint_catalogue())
    made_at = timezone.localtime(timezone.now(), ZoneInfo(tenant.time_zone))
    return DashboardReport(tenant=tenant, filters=filters, board=board, made_at=made_at)


# ---- Excel


def _change(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else round(now - before, 2)


def _summary_rows(report: DashboardReport) -> list[list[object]]:
    now, before = report.board.summary, report.board.previous
    rows: list[list[object]] = [[_("指标"), _("本期"), _("上期"), _("变化")]]
    for name, attribute in [
        (_("回复数"), "responses"),
        ("NPS", "nps"),
        (_("NPS 回答数"), "nps_count"),
        ("CSAT", "csat"),
        ("CES", "ces"),
    ]:
        value, previous = getattr(now, attribute), getattr(before, attribute)
        rows.append([name, value, previous, _change(value, previous)])
    rows.append([])
    rows += [[name, value] for name, value in report.filter_lines()]
    rows.append([_("生成时间"), f"{report.made_at:%Y-%m-%d %H:%M}"])
    return rows


def _league_rows(report: DashboardReport) -> list[list[object]]:
    rows: list[list[object]] = [
        [
            _("排行"),
            _("名称"),
            _("回答数"),
            "NPS",
            _("95% 置信区间下限"),
            _("95% 置信区间上限"),
            _("较上期"),
            _("较上级"),
            _("较同级中位数"),
            "CSAT",
            "CES",
            _("样本不足"),
        ]
    ]
    leagues = [(_("下级单位"), report.board.units), (_("触点"), report.board.touchpoints)]
    for kind, league in leagues:
        for row in league.rows if league else []:
            low, high = row.interval or (None, None)
            score = None if row.suppressed else row.summary.nps
            rows.append(
                [
                    kind,
                    row.label,
                    row.summary.nps_count,
                    score,
                    low,
                    high,
                    row.change,
                    row.vs_parent,
                    row.vs_peers,
                    row.summary.csat,
                    row.summary.ces,
                    _("是") if row.suppressed else "",
                ]
            )
    return rows


def _trend_rows(report: DashboardReport) -> list[list[object]]:
    rows: list[list[object]] = [[_("周"), _("回复数"), "NPS", _("NPS 回答数"), "CSAT", "CES"]]
    for week, summary in report.board.trend:
        rows.append(
            [
                week.isoformat(),
                summary.responses,
                summary.nps,
                summary.nps_count,
                summary.csat,
                summary.ces,
            ]
        )
    return rows


def report_xlsx(report: DashboardReport) -> bytes:
    """The workbook: "概览" (the KPIs now and before, and the filters), "排行" (every row of
    both league tables, suppressed rows marked and without a score) and "按周趋势". Text
    cells go through the formula guard of organizations.spreadsheets."""
    handle = io.BytesIO()
    xlsx_write(
        [
            (_("概览"), _summary_rows(report)),
            (_("排行"), _league_rows(report)),
            (_("按周趋势"), _trend_rows(report)),
        ],
        handle,
    )
    return handle.getvalue()


# ---- PDF

CHART_WIDTH, CHART_HEIGHT = 680, 240
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 44, 660, 16, 200
MAX_BAR_WIDTH = 48  # a window of a week or two draws slim bars, not a wall


def _at(*coordinates: float) -> tuple[str, ...]:
    """Coordinates as SVG writes them, to a tenth of a point."""
    return tuple(f"{value:.1f}" for value in coordinates)


def trend_svg(trend: list[tuple[date, MetricSummary]]) -> SafeString:
    """The weekly NPS as a line over the responses as bars (scaled to the busiest week), on an
    NPS axis from -100 to 100; drawn here so the printed page needs no script."""
    if not trend:
        return SafeString("")
    width = (PLOT_RIGHT - PLOT_LEFT) / len(trend)
    busiest = max(summary.responses for _week, summary in trend) or 1

    def y_of(nps: float) -> float:
        return PLOT_TOP + (100 - nps) / 200 * (PLOT_BOTTOM - PLOT_TOP)

    grid = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" class="grid"/>'
        '<text x="{}" y="{}" class="axis" text-anchor="end">{}</text>',
        (
            (
                *_at(PLOT_LEFT, PLOT_RIGHT, y_of(level), y_of(level)),
                PLOT_LEFT - 6,
                *_at(y_of(level) + 4),
                level,
            )
            for level in (-100, -50, 0, 50, 100)
        ),
    )
    bars, labels, points = [], [], []
    for index, (week, summary) in enumerate(trend):
        x = PLOT_LEFT + index * width
        height = summary.responses / busiest * (PLOT_BOTTOM - PLOT_TOP) * 0.6
        bar = min(width * 0.7, MAX_BAR_WIDTH)
        bars.append(_at(x + (width - bar) / 2, PLOT_BOTTOM - height, bar, height))
        labels.append((*_at(x + width / 2, PLOT_BOTTOM + 16), f"{week:%m-%d}"))
        if summary.nps is not None:
            points.append((x + width / 2, y_of(summary.nps), summary.nps))
    line = " ".join(",".join(_at(x, y)) for x, y, _nps in points)
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" role="img" '
        'aria-label="{}">{}{}{}<polyline points="{}" class="nps-line"/>{}</svg>',
        CHART_WIDTH,
        CHART_HEIGHT,
        _("按周 NPS 与回复数"),
        grid,
        format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" class="bar"/>',
            bars,
        ),
        format_html_join(
            "", '<text x="{}" y="{}" class="axis" text-anchor="middle">{}</text>', labels
        ),
        line,
        format_html_join(
            "",
            '<circle cx="{}" cy="{}" r="3" class="nps-point"/>'
            '<text x="{}" y="{}" class="value" text-anchor="middle">{}</text>',
            ((*_at(x, y, x, y - 7), nps) for x, y, nps in points),
        ),
    )


LEAGUE_CHART_ROWS = 12


def league_svg(league: League | None) -> SafeString:
    """The NPS of the league's first rows with a score as horizontal bars from the zero line,
    each with its 95 % interval as a whisker; suppressed rows are left out."""
    rows = [row for row in (league.rows if league else []) if not row.suppressed]
    rows = rows[:LEAGUE_CHART_ROWS]
    if not rows:
        return SafeString("")
    label_width, plot_width, row_height = 200, 440, 22
    zero = label_width + plot_width / 2

    def x_of(nps: float) -> float:
        return zero + nps / 100 * plot_width / 2

    parts = []
    for index, row in enumerate(rows):
        y = 10 + index * row_height
        low, high = row.interval or (row.summary.nps, row.summary.nps)
        left, right = sorted((zero, x_of(row.summary.nps)))
        parts.append(
            format_html(
                '<text x="{}" y="{}" class="label" text-anchor="end">{}</text>'
                '<rect x="{}" y="{}" width="{}" height="14" class="{}"/>'
                '<line x1="{}" x2="{}" y1="{}" y2="{}" class="whisker"/>'
                '<text x="{}" y="{}" class="value">{}</text>',
                label_width - 8,
                y + 11,
                row.label[:24],
                *_at(left),
                y,
                *_at(right - left),
                "bar good" if row.summary.nps >= 0 else "bar bad",
                *_at(x_of(low), x_of(high)),
                y + 7,
                y + 7,
                label_width + plot_width + 8,
                y + 11,
                row.summary.nps,
            )
        )
    height = 20 + len(rows) * row_height
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<line x1="{}" x2="{}" y1="4" y2="{}" class="grid"/>{}</svg>',
        CHART_WIDTH + 20,
        height,
        _("NPS 排行"),
        zero,
        zero,
        height - 4,
        SafeString("".join(parts)),
    )


def report_html(report: DashboardReport) -> str:
    """The printable page of the report: self-contained (styles and charts inline)."""
    board = report.board
    return render_to_string(
        "analytics/report.html",
        {
            "report": report,
            "board": board,
            "summary": board.summary,
            "trend_chart": trend_svg(board.trend),
            "unit_chart": league_svg(board.units),
            "touchpoint_chart": league_svg(board.touchpoints),
        },
    )


def report_pdf(report: DashboardReport) -> bytes:
    """The report printed by Chromium to an A4 PDF (organizations.pdf)."""
    return pdf_from_html(report_html(report))
