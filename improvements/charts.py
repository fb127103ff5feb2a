"""The review's chart: the metric before and after the fix, per org unit."""

from __future__ import annotations

import plotly.graph_objects as go
from django.utils.translation import gettext as _

from improvements.review import Comparison
from organizations.charts import chart_json


def before_after_chart(comparisons: tuple[Comparison, ...], *, axis_title: str) -> str:
    groups = [row.group for row in comparisons]
    figure = go.Figure()
    figure.add_bar(
        x=groups, y=[row.before for row in comparisons], name=_("上线前"), marker_color="#94a3b8"
    )
    figure.add_bar(
        x=groups, y=[row.after for row in comparisons], name=_("上线后"), marker_color="#2563eb"
    )
    figure.update_layout(
        barmode="group",
        height=320,
        margin={"l": 40, "r": 20, "t": 20, "b": 40},
        legend={"orientation": "h"},
        xaxis={"type": "category"},
        yaxis={"title": axis_title},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
    )
    return chart_json(figure, {"responsive": True})
