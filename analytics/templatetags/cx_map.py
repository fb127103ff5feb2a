"""Template tags of the journey map: a score's status (icon and word), the change on the
previous period, a metric's label. Tags, not included templates: a map renders them for every
cell, and an include per cell was most of the page's time."""

from django import template
from django.template.defaultfilters import floatformat
from django.utils.html import format_html
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _

from analytics.cx_index import METRIC_LABELS, Status

register = template.Library()

# Every status is shown by an icon and a word as well as by its colour (WCAG 1.4.1).
STATUS_SHOWN = {
    Status.MET: ("✓", _("达标")),
    Status.NEAR: ("!", _("接近目标")),
    Status.BELOW: ("✗", _("未达标")),
    Status.LOW_SAMPLE: ("…", _("样本不足")),
    Status.NO_DATA: ("–", _("暂无数据")),
}
MOMENT_ICONS = {"low": "▼", "peak": "▲", "end": "⚑"}


@register.filter
def status_icon(status: str) -> str:
    return STATUS_SHOWN[status][0]


@register.filter
def status_label(status: str) -> str:
    return str(STATUS_SHOWN[status][1])


@register.filter
def metric_label(metric: str) -> str:
    return str(METRIC_LABELS.get(metric, metric))


@register.filter
def moment_icon(moment: str) -> str:
    return MOMENT_ICONS.get(moment, "")


@register.simple_tag
def cx_status(score) -> str:
    icon, label = STATUS_SHOWN[score.status]
    return format_html(
        '<span class="cx-status status-{}"><span aria-hidden="true">{}</span> {}</span>',
        score.status,
        icon,
        label,
    )


CHANGE_FLAT = 0.05  # points: a change this small is shown as level


@register.simple_tag
def cx_change(change: float | None) -> str:
    """The change of a score on the previous period: up, down or level, said in words for
    screen readers as well as by an arrow."""
    before = gettext_now("较上期")
    if change is None:
        return format_html('{} <span title="{}">—</span>', before, gettext_now("上期无足够样本"))
    if abs(change) <= CHANGE_FLAT:
        return gettext_now("较上期持平")
    up = change > 0
    return format_html(
        '{} <span class="{}"><span aria-hidden="true">{}</span>'
        '<span class="visually-hidden">{}</span> {}</span>',
        before,
        "up" if up else "down",
        "↑" if up else "↓",
        gettext_now("上升") if up else gettext_now("下降"),
        floatformat(abs(change), 1),
    )
