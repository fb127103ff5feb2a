"""The review's chart: the metric before and after the fix, per org unit."""

from __future__ import annotations

from django.utils.translation import gettext as _

from improvements.review import Comparison
from organizations.charts import chart_json


def before_after_chart(comparisons: tuple[Comparison, ...], *, axis_title: str) -> str:
    groups = [row.group for row in comparisons]
    data = [
        {
            "type": "bar",
            "x": groups,
            "y": [row.before for row in comparisons],
            "name": _("上线前"),
            "marker": {"color": "#94a3b8"},
        },
        {
            "type": "bar",
            "x": groups,
            "y": [row.after for row in comparisons],
            "name": _("上线后"),
            "marker": {"color": "#2563eb"},
        },
    ]
    layout = {
        "barmode": "group",
        "height": 320,
        "margin": {"l": 40, "r": 20, "t": 20, "b": 40},
        "xaxis": {"type": "category"},
        "yaxis": {"title": {"text": axis_title}},
    }
    return chart_json(data, layout, {"responsive": True})
