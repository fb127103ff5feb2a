"""The dashboard in Chromium: a CX manager narrows it with the filters (kept in the URL), is
told why a bad range is refused, and drills down the league tables from head office to a
region, a branch, a touchpoint and one response."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser_pages import assert_accessible, log_in, screenshot
from tests.test_dashboard import answered
from tests.test_journey_map import second_touchpoint

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("midday"),
]


@pytest.fixture
def scored(world, settings):
    settings.CEM_MAP_MIN_SAMPLE = 3
    for nps in (10, 9, 9, 2):
        answered(world, nps=nps, csat=4, org_unit=world.branch, touchpoint=world.touchpoint)
    app = second_touchpoint(world)
    for nps in (0, 3):
        answered(world, nps=nps, org_unit=world.other_branch, touchpoint=app, text="App老是闪退")
    answered(world, nps=1, org_unit=world.branch, touchpoint=app, ago=timedelta(days=20))
    return world


def kpi(page, name: str):
    return page.get_by_test_id(f"kpi-{name}").locator(".value")


def test_a_manager_filters_the_dashboard_and_drills_down_to_one_response(
    live_server, open_page, scored
):
    world, base = scored, live_server.url
    page = open_page()
    log_in(page, base, world.manager.username)
    page.goto(f"{base}/t/{world.tenant.slug}/dashboard/")
    expect(kpi(page, "responses")).to_have_text("7")
    expect(page.locator(".chart .js-plotly-plot")).to_have_count(1)
    assert_accessible(page)

    page.get_by_label("渠道").select_option("mobile_app")
    page.get_by_role("button", name="应用").click()
    page.wait_for_url(re.compile(r"channel=mobile_app"))
    expect(kpi(page, "responses")).to_have_text("3")
    page.get_by_role("link", name="近 7 天").click()
    page.wait_for_url(re.compile(r"days=7"))
    assert "channel=mobile_app" in page.url
    expect(kpi(page, "responses")).to_have_text("2")
    expect(page.get_by_label("渠道")).to_have_value("mobile_app")

    page.get_by_label("开始日期").fill("2026-06-10")
    page.get_by_label("结束日期").fill("2026-06-01")
    page.get_by_role("button", name="应用").click()
    expect(page.get_by_role("alert")).to_contain_text("结束日期不能早于开始日期")

    page.goto(f"{base}/t/{world.tenant.slug}/dashboard/?days=30")
    units = page.get_by_test_id("by-unit")
    units.get_by_role("link", name=world.hq.name).click()
    page.get_by_test_id("by-unit").get_by_role("link", name="华东区").click()
    units = page.get_by_test_id("by-unit")
    expect(units.locator("tr", has_text="浦东支行")).to_contain_text("20.0")
    expect(units.locator("tr", has_text="西湖支行")).to_contain_text("样本不足")
    screenshot(page, "dashboard-region.png")
    units.get_by_role("link", name="浦东支行").click()
    expect(page.get_by_test_id("by-unit")).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).to_contain_text("浦东支行")
    page.get_by_test_id("by-touchpoint").get_by_role("link", name=re.compile("网点柜台")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("网点柜台 的回复与工单")
    expect(page.locator("table.cell-responses tbody tr")).to_have_count(4)
    page.locator("table.cell-responses tbody tr a").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("回答 #")


def test_the_dashboard_fits_a_phone(live_server, open_page, scored):
    world, base = scored, live_server.url
    page = open_page(phone=True)
    log_in(page, base, world.viewer.username)
    page.goto(f"{base}/t/{world.tenant.slug}/dashboard/?days=30")
    expect(page.get_by_test_id("by-unit")).to_contain_text("浦东支行")
    assert page.evaluate("window.innerWidth") == 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "dashboard-phone.png")


def test_the_key_drivers_open_from_the_dashboard_fit_a_phone_and_are_accessible(
    live_server, open_page, scored
):
    world, base = scored, live_server.url
    for _ in range(3):
        answered(
            world,
            nps=0,
            csat=1,
            org_unit=world.branch,
            touchpoint=world.touchpoint,
            text="排队太久了",
        )
    page = open_page(phone=True)
    log_in(page, base, world.manager.username)
    page.goto(f"{base}/t/{world.tenant.slug}/dashboard/?days=30")
    page.get_by_role("link", name=re.compile("关键驱动因素")).click()
    page.wait_for_url(re.compile(r"/dashboard/drivers/\?days=30"))
    expect(page.get_by_test_id("touchpoint-drivers")).to_contain_text("网点柜台")
    expect(page.get_by_test_id("aspect-drivers")).to_contain_text("等待时间")
    expect(page.locator(".chart .js-plotly-plot")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(page)
    screenshot(page, "key-drivers-phone.png")
