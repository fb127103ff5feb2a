"""The CX dashboard: NPS, CSAT and CES with weekly trends, per touchpoint, latest verbatims."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from analytics import selectors
from analytics.charts import weekly_trend_chart
from cem.access import tenant_view


@tenant_view("dashboard.view")
def dashboard(request: HttpRequest) -> HttpResponse:
    scores = selectors.scores_in_scope(scope_path=request.membership.scope_path)
    trend = selectors.metric_trend_by_week(scores)
    context = {
        "summary": selectors.metric_summary(scores),
        "trend": trend,
        "trend_chart": weekly_trend_chart(trend) if trend else "",
        "by_touchpoint": selectors.metric_by_touchpoint(scores),
        "verbatims": selectors.latest_verbatims(scores),
        "period_days": selectors.DEFAULT_PERIOD_DAYS,
    }
    return render(request, "analytics/dashboard.html", context)
