"""Metric alerts in the system Chromium: a CX manager finds a branch's NPS drop on the
dashboard with its chart, opens it, acknowledges it and closes it."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from analytics.services import metric_drops_detect
from organizations.tenancy import tenant_context
from tests.browser_pages import assert_accessible, log_in
from tests.test_metric_drop_alerts import STEADY, plant, plant_history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def dropped(world):
    """Twelve steady weeks at NPS ~ +40, then a week at -20 on 70 answers, detected today."""
    today = timezone.localdate(timezone=ZoneInfo(world.tenant.time_zone))
    plant_history(world, world.branch, STEADY, window_end=today - timedelta(days=1))
    for days_ago in range(1, 8):
        day = today - timedelta(days=days_ago)
        plant(world, unit=world.branch, day=day, answers=10, promoters=2, detractors=4)
    with tenant_context(world.tenant):
        [alert] = metric_drops_detect(today=today)
    return alert


def test_manager_reads_the_drop_on_the_dashboard_then_acknowledges_and_closes_it(
    live_server, open_page, world, dropped
):
    page = open_page(viewport={"width": 1280, "height": 900})
    log_in(page, live_server.url, world.manager.username)
    page.goto(f"{live_server.url}/t/{world.tenant.slug}/dashboard/")
    alerts = page.get_by_test_id("metric-alerts")
    expect(alerts.locator(".main-svg").first).to_be_visible()  # plotly drew the chart
    alerts.get_by_role("link", name="NPS 下降：浦东支行").click()

    expect(page.get_by_test_id("metric-alert-status")).to_have_text("待处理")
    expect(page.locator(".main-svg").first).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="确认").click()
    expect(page.get_by_test_id("metric-alert-status")).to_have_text("已确认")
    page.get_by_role("button", name="关闭").click()
    expect(page.get_by_test_id("metric-alert-status")).to_have_text("已关闭")
    expect(page.get_by_role("button", name="关闭")).to_have_count(0)
