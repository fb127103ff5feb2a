"""Template filters of the journey map: a status's label and icon, a metric's label."""

from django import template
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
