"""Every chart's data is a valid plotly figure: the pages hand plain data to plotly.js (no
plotly.py objects at run time: organizations/charts.py), so plotly.py's own validators check
it here, property by property, as its figure objects used to on every request."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import plotly.graph_objects as go
import pytest

from analytics import charts
from analytics.drivers import Driver, Group
from analytics.models import MetricAlert
from analytics.selectors import MetricSummary
from analytics.text_overview import AspectCell, SentimentMix
from improvements.charts import before_after_chart
from improvements.review import Comparison
from surveys.charts import response_rate_chart

MONDAY = date(2026, 6, 1)


def weeks(n: int) -> list[date]:
    return [MONDAY + timedelta(weeks=i) for i in range(n)]


def an_alert(metric: str) -> MetricAlert:
    return MetricAlert(
        metric=metric,
        value=-10.0,
        baseline=40.0,
        lower_limit=10.0,
        weeks=[
            {"end": "2026-06-07", "value": 42.0, "answers": 70},
            {"end": "2026-06-14", "value": -10.0, "answers": 64},
        ],
    )


def drawn() -> dict[str, str]:
    return {
        "weekly trend": charts.weekly_trend_chart(
            [
                (week, MetricSummary(10 + i, 30.5, 9, 4.2, 8, None, 0))
                for i, week in enumerate(weeks(3))
            ]
        ),
        "sentiment mix": charts.sentiment_mix_chart(SentimentMix(5, 2, 3, 6.1, 10)),
        "sentiment trend": charts.sentiment_trend_chart(
            [(week, SentimentMix(5, 2, 3, 6.1, 10)) for week in weeks(2)]
        ),
        "aspects": charts.aspect_chart([("排队", AspectCell(1, 0, 4)), ("态度", AspectCell(3))]),
        "drivers": charts.driver_chart(
            [
                Driver("柜台", Group(40, 5, 20), Group(200, 120, 10), 240, 30),
                Driver("手机银行", Group(5, 1, 2), Group(235, 124, 28), 240, 30),  # suppressed
            ]
        ),
        "nps alert": charts.metric_alert_chart(an_alert("nps")),
        "csat alert": charts.metric_alert_chart(an_alert("csat"), height=220),
        "distribution": response_rate_chart(
            [{"week": datetime(2026, 6, 1), "sent": 100, "completed": 31, "rate": 31.0}]
        ),
        "improvement": before_after_chart(
            (Comparison("NPS", "浦东支行", 80, 90, 12.5, 30.0, None, 30, str),),
            axis_title="NPS",
        ),
    }


@pytest.mark.parametrize("name", list(drawn()))
def test_each_chart_is_a_valid_plotly_figure_with_its_titles_as_objects(name):
    spec = json.loads(drawn()[name])
    figure = go.Figure(spec["figure"])  # raises ValueError on any property plotly does not know
    assert figure.data and spec["config"]["displaylogo"] is False
    layout = spec["figure"]["layout"]
    for axis in ("xaxis", "yaxis", "yaxis2", "yaxis3"):
        title = layout.get(axis, {}).get("title")
        assert title is None or isinstance(title, dict)  # plotly.js 3 reads no string title


def test_a_chart_holds_its_data_not_plotlys_template():
    spec = json.loads(drawn()["weekly trend"])
    assert "template" not in spec["figure"]["layout"]
    assert len(drawn()["weekly trend"]) < 2500
