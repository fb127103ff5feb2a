"""Plotly figures for the dashboard, rendered to HTML fragments (plotly.js is served locally)."""

from __future__ import annotations

from datetime import datetime

import plotly.graph_objects as go
from django.utils.translation import gettext as _

from analytics.selectors import MetricSummary


def weekly_trend_chart(trend: list[tuple[datetime, MetricSummary]]) -> str:
    weeks = [week.date().isoformat() for week, _summary in trend]
    figure = go.Figure()
    figure.add_bar(
        x=weeks,
        y=[summary.responses for _week, summary in trend],
        name=_("回复数"),
        yaxis="y2",
        opacity=0.25,
        marker_color="#64748b",
    )
    figure.add_scatter(
        x=weeks,
        y=[summary.nps for _week, summary in trend],
        name="NPS",
        mode="lines+markers",
        line={"color": "#2563eb"},
    )
    figure.add_scatter(
        x=weeks,
        y=[summary.csat for _week, summary in trend],
        name="CSAT",
        mode="lines+markers",
        yaxis="y3",
        line={"color": "#16a34a"},
    )
    figure.add_scatter(
        x=weeks,
        y=[summary.ces for _week, summary in trend],
        name="CES",
        mode="lines+markers",
        yaxis="y3",
        line={"color": "#d97706", "dash": "dot"},
    )
    figure.update_layout(
        margin={"l": 40, "r": 40, "t": 20, "b": 40},
        height=320,
        legend={"orientation": "h"},
        # Weeks as categories: a date axis zooms to milliseconds when there is one week.
        xaxis={"type": "category"},
        yaxis={"title": "NPS", "range": [-110, 110]},
        yaxis2={"overlaying": "y", "side": "right", "showgrid": False, "visible": False},
        yaxis3={"overlaying": "y", "side": "right", "range": [0, 7], "title": "CSAT / CES"},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
    )
    return figure.to_html(include_plotlyjs=False, full_html=False, config={"displaylogo": False})
