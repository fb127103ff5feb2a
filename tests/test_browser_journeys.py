"""The journey editor in Chromium: a CX manager starts a journey from a template, adds and
reorders a stage, adds a touchpoint and fixes a refused code, on a desktop and on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser_pages import log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def stage_names(page) -> list[str]:
    return page.locator("input[id^='stage-'][id$='-name']").evaluate_all(
        "inputs => inputs.map(i => i.value)"
    )


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_a_manager_builds_a_journey_from_a_template(live_server, open_page, world, phone):
    base = live_server.url
    page = open_page(phone=phone)
    log_in(page, base, world.manager.username)
    page.goto(f"{base}/t/{world.tenant.slug}/journeys/")
    page.get_by_role("link", name="新建旅程").click()
    page.get_by_label("电商：线上购物").check()
    page.get_by_role("button", name="用模板创建").click()
    expect(page.get_by_role("heading", name="编辑旅程：线上购物")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("已创建旅程「线上购物」")
    assert stage_names(page) == ["浏览", "下单", "配送", "售后"]

    page.get_by_label("阶段名称").fill("评价")
    page.get_by_role("button", name="添加阶段").click()
    assert stage_names(page)[-1] == "评价"
    page.get_by_role("button", name="上移 评价").click()
    assert stage_names(page) == ["浏览", "下单", "配送", "评价", "售后"]

    stage = page.locator("ol.journey-stages > li").nth(3)
    stage.get_by_label("新触点名称").fill("晒单评价")
    stage.get_by_label("编码").fill("ecom-checkout")  # taken by the template's checkout
    stage.get_by_label("渠道").select_option("mobile_app")
    stage.get_by_role("button", name="添加触点").click()
    expect(page.get_by_role("alert")).to_contain_text("编码已被其他触点使用")
    stage = page.locator("ol.journey-stages > li").nth(3)
    expect(stage.get_by_label("新触点名称")).to_have_value("晒单评价")  # kept for the fix
    stage.get_by_label("编码").fill("ecom-review")
    stage.get_by_role("button", name="添加触点").click()
    expect(page.locator("tr[data-touchpoint=ecom-review]")).to_have_count(1)
    if phone:  # the page keeps the phone's width; a wide table scrolls within its card
        assert page.evaluate("window.innerWidth") == 390
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, f"journey-editor-{'phone' if phone else 'desktop'}.png")

    page.goto(f"{base}/t/{world.tenant.slug}/journeys/")
    journey = page.locator("section.journey", has_text="线上购物")
    expect(journey.locator(".stage h3")).to_have_text(["浏览", "下单", "配送", "评价", "售后"])
    expect(journey.locator(".touchpoint", has_text="晒单评价")).to_have_count(1)


def test_a_manager_drags_a_stage_into_place(live_server, open_page, world):
    base = live_server.url
    page = open_page(viewport={"width": 1280, "height": 2400})  # both stages in view
    log_in(page, base, world.manager.username)
    page.goto(f"{base}/t/{world.tenant.slug}/journeys/{world.journey.pk}/edit/")
    page.get_by_label("阶段名称").fill("回访")
    page.get_by_role("button", name="添加阶段").click()
    first_name = stage_names(page)[0]
    assert stage_names(page) == [first_name, "回访"]
    stages = page.locator("ol.journey-stages > li")
    # Step by step, as a hand moves, so that the drag passes over the first stage.
    stages.nth(1).locator(".drag-handle").hover()
    page.mouse.down()
    target = stages.nth(0).locator(".drag-handle").bounding_box()
    with page.expect_navigation():
        page.mouse.move(target["x"] + 2, target["y"] + 2, steps=8)
        page.mouse.up()
    expect(page.locator("input[id^='stage-'][id$='-name']").first).to_have_value("回访")
    assert stage_names(page) == ["回访", first_name]
