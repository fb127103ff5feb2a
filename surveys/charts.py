"""Plotly figure of the distribution dashboard as data for static/cem-charts.js."""

from __future__ import annotations

from django.utils.translation import gettext as _

from organizations.charts import chart_json


def response_rate_chart(weeks: list[dict]) -> str:
    labels = [row["week"].date().isoformat() for row in weeks]
    data = [
        {
            "type": "bar",
            "x": labels,
            "y": [row["sent"] for row in weeks],
            "name": _("已发送"),
            "marker": {"color": "#94a3b8"},
        },
        {
            "type": "bar",
            "x": labels,
            "y": [row["completed"] for row in weeks],
            "name": _("已完成"),
            "marker": {"color": "#16a34a"},
        },
        {
            "type": "scatter",
            "x": labels,
            "y": [row["rate"] for row in weeks],
            "name": _("回收率 %"),
            "yaxis": "y2",
            "mode": "lines+markers",
            "line": {"color": "#2563eb"},
        },
    ]
    layout = {
        "barmode": "group",
        "height": 300,
        "margin": {"l": 40, "r": 40, "t": 20, "b": 40},
        "xaxis": {"type": "category"},
        "yaxis2": {
            "overlaying": "y",
            "side": "right",
            "range": [0, 100],
            "tickmode": "auto",
            "title": {"text": "%"},
        },
    }
    return chart_json(data, layout)
