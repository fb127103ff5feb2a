"""The journey map in Chromium: a CX manager opens a journey's map from the list, sets a
touchpoint's metric and target, sees the cell against it, clicks the cell to its responses,
and the map reads on a 390 px phone without a sideways scroll."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from analytics import metric_system
from organizations.tenancy import tenant_context
from tests.browser_pages import log_in, screenshot
from tests.test_journey_map import BAD_TEXT, GOOD_TEXT, answered, second_touchpoint

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("midday"),
]


@pytest.fixture
def scored(world, settings):
    settings.CEM_MAP_MIN_SAMPLE = 3
    for nps in (10, 9, 9, 2):
        answered(world, nps=nps, text=BAD_TEXT if nps < 7 else GOOD_TEXT)
    answered(world, nps=4, days_ago=40)
    app = second_touchpoint(world, key_moment="low")
    answered(world, nps=1, touchpoint=app)
    return world


def test_a_manager_sets_a_target_and_follows_a_cell_to_its_responses(
    live_server, open_page, scored
):
    world, base = scored, live_server.url
    page = open_page()
    log_in(page, base, world.manager.username)
    page.goto(f"{base}/t/{world.tenant.slug}/journeys/")
    page.get_by_role("link", name=f"查看 {world.journey.name} 的旅程地图").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"旅程地图：{world.journey.name}")
    counter = page.locator("a.map-cell[data-touchpoint=counter]")
    expect(counter).to_contain_text("n=4")
    expect(page.locator("a.map-cell[data-touchpoint=app-login]")).to_contain_text("样本不足")

    page.get_by_role("link", name="指标与目标").click()
    card = page.locator("article[data-touchpoint=counter]")
    card.get_by_label("指标").select_option("csat")
    card.get_by_label("目标值").fill("4.5")
    card.get_by_label("权重").fill("abc")
    card.get_by_role("button", name="添加指标").click()
    expect(page.get_by_role("alert")).to_contain_text("权重「abc」不是有效的数字")
    card = page.locator("article[data-touchpoint=counter]")
    card.get_by_label("指标").select_option("csat")
    card.get_by_label("目标值").fill("4.5")
    card.get_by_label("权重").fill("1")
    card.get_by_role("button", name="添加指标").click()
    expect(page.get_by_role("status")).to_contain_text("已保存「网点柜台」的指标")

    page.goto(f"{base}/t/{world.tenant.slug}/journeys/{world.journey.pk}/")
    counter = page.locator("a.map-cell[data-touchpoint=counter]")
    # CSAT target 4.5 on 1-5 is 87.5 points; 3 of 4 answered 5, one 2: mean 4.25 -> 81.25
    expect(counter).to_contain_text("/ 目标 88")
    expect(counter).to_contain_text("未达标")
    screenshot(page, "journey-map-desktop.png")
    counter.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("网点柜台 的回复与工单")
    expect(page.locator("table.cell-responses tbody tr")).to_have_count(4)
    expect(page.get_by_role("link", name=re.compile(r"^#\d+$")).first).to_be_visible()


def test_the_map_fits_a_phone(live_server, open_page, scored):
    world, base = scored, live_server.url
    with tenant_context(world.tenant):
        for i in range(5):
            second_touchpoint(
                world, code=f"extra-{i}", name=f"很长名字的触点第{i}号手机银行转账汇款"
            )
        metric_system.touchpoint_metric_set(
            touchpoint=world.touchpoint, metric="text", target="10", weight="2", by=world.manager
        )
    page = open_page(phone=True)
    log_in(page, base, world.viewer.username)
    page.goto(f"{base}/t/{world.tenant.slug}/journeys/{world.journey.pk}/")
    expect(page.locator("a.map-cell")).to_have_count(7)
    assert page.evaluate("window.innerWidth") == 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "journey-map-phone.png")
    page.emulate_media(media="print")
    expect(page.locator("form.map-filters")).to_be_hidden()
