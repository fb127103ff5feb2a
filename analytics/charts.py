"""Plotly figures of the dashboard and text analytics, as data for static/cem-charts.js."""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
from django.utils.translation import gettext as _

from analytics.drivers import Driver
from analytics.models import MetricAlert
from analytics.selectors import MetricSummary
from analytics.text_overview import AspectCell, SentimentMix
from organizations.charts import chart_json


def weekly_trend_chart(trend: list[tuple[date, MetricSummary]]) -> str:
    """Responses, NPS, CSAT and CES per week (the date of its Monday)."""
    weeks = [week.isoformat() for week, _summary in trend]
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
    return chart_json(figure)


SENTIMENT_COLOURS = {"positive": "#16a34a", "neutral": "#94a3b8", "negative": "#dc2626"}
_LAYOUT = {
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "legend": {"orientation": "h"},
}
_CONFIG = {"displaylogo": False, "responsive": True}


def _sentiment_names() -> dict[str, str]:
    return {"positive": _("正面"), "neutral": _("中性"), "negative": _("负面")}


def sentiment_mix_chart(mix: SentimentMix) -> str:
    names = _sentiment_names()
    figure = go.Figure(
        go.Pie(
            labels=[names[label] for label in SENTIMENT_COLOURS],
            values=[getattr(mix, label) for label in SENTIMENT_COLOURS],
            marker={"colors": list(SENTIMENT_COLOURS.values())},
            hole=0.55,
            sort=False,
            textinfo="percent",
        )
    )
    figure.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=260, **_LAYOUT)
    return chart_json(figure, _CONFIG)


def sentiment_trend_chart(weeks: list[tuple[date, SentimentMix]]) -> str:
    """Texts per week stacked by sentiment, with the mean sentiment score as a line."""
    names = _sentiment_names()
    labels = [week.isoformat() for week, _mix in weeks]
    figure = go.Figure()
    for label, colour in SENTIMENT_COLOURS.items():
        figure.add_bar(
            x=labels,
            y=[getattr(mix, label) for _week, mix in weeks],
            name=names[label],
            marker_color=colour,
        )
    figure.add_scatter(
        x=labels,
        y=[mix.mean_score for _week, mix in weeks],
        name=_("平均情感分"),
        mode="lines+markers",
        yaxis="y2",
        line={"color": "#1d4ed8"},
    )
    figure.update_layout(
        barmode="stack",
        margin={"l": 40, "r": 40, "t": 10, "b": 40},
        height=300,
        xaxis={"type": "category"},
        yaxis={"title": _("文本数")},
        yaxis2={"overlaying": "y", "side": "right", "range": [0, 1], "title": _("情感分")},
        **_LAYOUT,
    )
    return chart_json(figure, _CONFIG)


def aspect_chart(aspects: list[tuple[str, AspectCell]]) -> str:
    """Mentions of each aspect, praise to the right and complaints to the left of zero."""
    names = [name for name, _cell in aspects][::-1]
    cells = [cell for _name, cell in aspects][::-1]
    figure = go.Figure()
    figure.add_bar(
        y=names,
        x=[-cell.negative for cell in cells],
        orientation="h",
        name=_("负面"),
        marker_color=SENTIMENT_COLOURS["negative"],
        customdata=[cell.negative for cell in cells],
        hovertemplate="%{y}: %{customdata}<extra></extra>",
    )
    figure.add_bar(
        y=names,
        x=[cell.positive for cell in cells],
        orientation="h",
        name=_("正面"),
        marker_color=SENTIMENT_COLOURS["positive"],
    )
    figure.update_layout(
        barmode="relative",
        margin={"l": 90, "r": 20, "t": 10, "b": 30},
        height=60 + 32 * len(cells),
        xaxis={"title": _("提及次数（负面 ← → 正面）")},
        **_LAYOUT,
    )
    return chart_json(figure, _CONFIG)


def driver_chart(drivers: list[Driver]) -> str:
    """Each driver's impact on the NPS (points it would gain) as a horizontal bar, largest on
    top, with the 95 % interval; drivers whose gap chance could explain are drawn pale."""
    shown = [driver for driver in drivers if not driver.suppressed][::-1]
    figure = go.Figure()
    figure.add_bar(
        y=[driver.label for driver in shown],
        x=[driver.impact for driver in shown],
        orientation="h",
        marker_color=["#dc2626" if driver.significant else "#fca5a5" for driver in shown],
        error_x={
            "type": "data",
            "symmetric": False,
            "array": [driver.impact_interval[1] - driver.impact for driver in shown],
            "arrayminus": [driver.impact - driver.impact_interval[0] for driver in shown],
            "color": "#475569",
        },
        hovertemplate="%{y}: %{x}<extra></extra>",
    )
    figure.update_layout(
        margin={"l": 10, "r": 20, "t": 30, "b": 40},
        height=80 + 32 * len(shown),
        xaxis={"title": _("对 NPS 的影响（分）"), "zeroline": True},
        yaxis={"automargin": True},
        showlegend=False,
        **{key: value for key, value in _LAYOUT.items() if key != "legend"},
    )
    return chart_json(figure, _CONFIG)


def metric_alert_chart(alert: MetricAlert, *, height: int = 300) -> str:
    """The alert's metric per week (each week by its last day, the flagged window last)
    against the history's baseline and the window's lower control limit."""
    weeks = [week["end"] for week in alert.weeks]
    figure = go.Figure()
    figure.add_scatter(
        x=weeks,
        y=[week["value"] for week in alert.weeks],
        name=_("周 %(metric)s") % {"metric": alert.get_metric_display()},
        mode="lines+markers",
        line={"color": "#2563eb"},
        customdata=[week["answers"] for week in alert.weeks],
        hovertemplate="%{x}: %{y:.1f} (n=%{customdata})<extra></extra>",
    )
    figure.add_scatter(
        x=weeks,
        y=[alert.baseline] * len(weeks),
        name=_("基线"),
        mode="lines",
        line={"color": "#64748b", "dash": "dot"},
    )
    figure.add_scatter(
        x=weeks,
        y=[alert.lower_limit] * len(weeks),
        name=_("控制下限"),
        mode="lines",
        line={"color": "#dc2626", "dash": "dash"},
    )
    figure.add_scatter(
        x=[weeks[-1]],
        y=[alert.value],
        name=_("预警周"),
        mode="markers",
        marker={"color": "#dc2626", "size": 12, "symbol": "diamond"},
    )
    figure.update_layout(
        margin={"l": 40, "r": 20, "t": 20, "b": 40},
        height=height,
        legend={"orientation": "h"},
        xaxis={"type": "category"},
        yaxis={"title": str(alert.get_metric_display()), "range": list(alert.scale_range)},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
    )
    return chart_json(figure, {"responsive": True})
