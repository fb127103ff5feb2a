"""Plotly figures of the dashboard and text analytics, as data for static/cem-charts.js
(organizations/charts.py: plain data in plotly.js's schema)."""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext as _

from analytics.drivers import Driver
from analytics.models import MetricAlert
from analytics.selectors import MetricSummary
from analytics.text_overview import AspectCell, SentimentMix
from organizations.charts import chart_json


def _line(x: list, y: list, name: str, colour: str, **more) -> dict:
    return {
        "type": "scatter",
        "x": x,
        "y": y,
        "name": name,
        "mode": "lines+markers",
        "line": {"color": colour},
        **more,
    }


def weekly_trend_chart(trend: list[tuple[date, MetricSummary]]) -> str:
    """Responses, NPS, CSAT and CES per week (the date of its Monday)."""
    weeks = [week.isoformat() for week, _summary in trend]
    data = [
        {
            "type": "bar",
            "x": weeks,
            "y": [summary.responses for _week, summary in trend],
            "name": _("回复数"),
            "yaxis": "y2",
            "opacity": 0.25,
            "marker": {"color": "#64748b"},
        },
        _line(weeks, [summary.nps for _week, summary in trend], "NPS", "#2563eb"),
        _line(weeks, [summary.csat for _week, summary in trend], "CSAT", "#16a34a", yaxis="y3"),
        _line(weeks, [summary.ces for _week, summary in trend], "CES", "#d97706", yaxis="y3"),
    ]
    data[-1]["line"]["dash"] = "dot"
    layout = {
        "margin": {"l": 40, "r": 40, "t": 20, "b": 40},
        "height": 320,
        # Weeks as categories: a date axis zooms to milliseconds when there is one week.
        "xaxis": {"type": "category"},
        "yaxis": {"title": {"text": "NPS"}, "range": [-110, 110]},
        "yaxis2": {"overlaying": "y", "side": "right", "showgrid": False, "visible": False},
        "yaxis3": {
            "overlaying": "y",
            "side": "right",
            "range": [0, 7],
            "tickmode": "auto",  # its own ticks, not the NPS axis's lines
            "title": {"text": "CSAT / CES"},
        },
    }
    return chart_json(data, layout)


SENTIMENT_COLOURS = {"positive": "#16a34a", "neutral": "#94a3b8", "negative": "#dc2626"}
_CONFIG = {"responsive": True}


def _sentiment_names() -> dict[str, str]:
    return {"positive": _("正面"), "neutral": _("中性"), "negative": _("负面")}


def sentiment_mix_chart(mix: SentimentMix) -> str:
    names = _sentiment_names()
    data = [
        {
            "type": "pie",
            "labels": [names[label] for label in SENTIMENT_COLOURS],
            "values": [getattr(mix, label) for label in SENTIMENT_COLOURS],
            "marker": {"colors": list(SENTIMENT_COLOURS.values())},
            "hole": 0.55,
            "sort": False,
            "textinfo": "percent",
        }
    ]
    layout = {"margin": {"l": 10, "r": 10, "t": 10, "b": 10}, "height": 260}
    return chart_json(data, layout, _CONFIG)


def sentiment_trend_chart(weeks: list[tuple[date, SentimentMix]]) -> str:
    """Texts per week stacked by sentiment, with the mean sentiment score as a line."""
    names = _sentiment_names()
    labels = [week.isoformat() for week, _mix in weeks]
    data = [
        {
            "type": "bar",
            "x": labels,
            "y": [getattr(mix, label) for _week, mix in weeks],
            "name": names[label],
            "marker": {"color": colour},
        }
        for label, colour in SENTIMENT_COLOURS.items()
    ]
    data.append(
        _line(labels, [mix.mean_score for _week, mix in weeks], _("平均情感分"), "#1d4ed8")
        | {"yaxis": "y2"}
    )
    layout = {
        "barmode": "stack",
        "margin": {"l": 40, "r": 40, "t": 10, "b": 40},
        "height": 300,
        "xaxis": {"type": "category"},
        "yaxis": {"title": {"text": _("文本数")}},
        "yaxis2": {
            "overlaying": "y",
            "side": "right",
            "range": [0, 1],
            "tickmode": "auto",
            "title": {"text": _("情感分")},
        },
    }
    return chart_json(data, layout, _CONFIG)


def aspect_chart(aspects: list[tuple[str, AspectCell]]) -> str:
    """Mentions of each aspect, praise to the right and complaints to the left of zero."""
    names = [name for name, _cell in aspects][::-1]
    cells = [cell for _name, cell in aspects][::-1]
    data = [
        {
            "type": "bar",
            "y": names,
            "x": [-cell.negative for cell in cells],
            "orientation": "h",
            "name": _("负面"),
            "marker": {"color": SENTIMENT_COLOURS["negative"]},
            "customdata": [cell.negative for cell in cells],
            "hovertemplate": "%{y}: %{customdata}<extra></extra>",
        },
        {
            "type": "bar",
            "y": names,
            "x": [cell.positive for cell in cells],
            "orientation": "h",
            "name": _("正面"),
            "marker": {"color": SENTIMENT_COLOURS["positive"]},
        },
    ]
    layout = {
        "barmode": "relative",
        "margin": {"l": 90, "r": 20, "t": 10, "b": 30},
        "height": 60 + 32 * len(cells),
        "xaxis": {"title": {"text": _("提及次数（负面 ← → 正面）")}},
    }
    return chart_json(data, layout, _CONFIG)


def driver_chart(drivers: list[Driver]) -> str:
    """Each driver's impact on the NPS (points it would gain) as a horizontal bar, largest on
    top, with the 95 % interval; drivers whose gap chance could explain are drawn pale."""
    shown = [driver for driver in drivers if not driver.suppressed][::-1]
    data = [
        {
            "type": "bar",
            "y": [driver.label for driver in shown],
            "x": [driver.impact for driver in shown],
            "orientation": "h",
            "marker": {
                "color": ["#dc2626" if driver.significant else "#fca5a5" for driver in shown]
            },
            "error_x": {
                "type": "data",
                "symmetric": False,
                "array": [driver.impact_interval[1] - driver.impact for driver in shown],
                "arrayminus": [driver.impact - driver.impact_interval[0] for driver in shown],
                "color": "#475569",
            },
            "hovertemplate": "%{y}: %{x}<extra></extra>",
        }
    ]
    layout = {
        "margin": {"l": 10, "r": 20, "t": 30, "b": 40},
        "height": 80 + 32 * len(shown),
        "xaxis": {"title": {"text": _("对 NPS 的影响（分）")}, "zeroline": True},
        "yaxis": {"automargin": True},
        "showlegend": False,
    }
    return chart_json(data, layout, _CONFIG)


def metric_alert_chart(alert: MetricAlert, *, height: int = 300) -> str:
    """The alert's metric per week (each week by its last day, the flagged window last)
    against the history's baseline and the window's lower control limit."""
    weeks = [week["end"] for week in alert.weeks]
    data = [
        _line(
            weeks,
            [week["value"] for week in alert.weeks],
            _("周 %(metric)s") % {"metric": alert.get_metric_display()},
            "#2563eb",
            customdata=[week["answers"] for week in alert.weeks],
            hovertemplate="%{x}: %{y:.1f} (n=%{customdata})<extra></extra>",
        ),
        {
            "type": "scatter",
            "x": weeks,
            "y": [alert.baseline] * len(weeks),
            "name": _("基线"),
            "mode": "lines",
            "line": {"color": "#64748b", "dash": "dot"},
        },
        {
            "type": "scatter",
            "x": weeks,
            "y": [alert.lower_limit] * len(weeks),
            "name": _("控制下限"),
            "mode": "lines",
            "line": {"color": "#dc2626", "dash": "dash"},
        },
    ]
    if weeks:
        data.append(
            {
                "type": "scatter",
                "x": [weeks[-1]],
                "y": [alert.value],
                "name": _("预警周"),
                "mode": "markers",
                "marker": {"color": "#dc2626", "size": 12, "symbol": "diamond"},
            }
        )
    layout = {
        "margin": {"l": 40, "r": 20, "t": 20, "b": 40},
        "height": height,
        "xaxis": {"type": "category"},
        "yaxis": {
            "title": {"text": str(alert.get_metric_display())},
            "range": list(alert.scale_range),
        },
    }
    return chart_json(data, layout, _CONFIG)
