"""Alert rules in the system Chromium: a CX manager writes a rule on a risk signal in the
editor (a wrong value is refused and nothing typed is lost, a preview shows what it would have
caught), finds it in the list in words; the form also works without JavaScript; a viewer reads
the rules but cannot edit them.

Every test opens fresh browser contexts (Chinese) against pytest-django's live server, and
people log in through the real login form.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser_pages import assert_accessible, log_in, screenshot
from tests.helpers import submit_and_score

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

THREAT = "卡被冻结了，再不解冻就投诉到银保监会"


@pytest.fixture
def feedback(world):
    submit_and_score(world, {"nps_1": 9, "csat_1": 4, "text_1": THREAT})
    submit_and_score(world, {"nps_1": 10, "csat_1": 5, "text_1": "办理很顺利"})
    return world


def test_manager_writes_a_risk_rule_previews_it_and_finds_it_in_the_list(
    live_server, open_page, feedback
):
    base = live_server.url
    page = open_page(viewport={"width": 1280, "height": 900})
    js_errors: list[str] = []
    page.on("pageerror", lambda error: js_errors.append(str(error)))
    log_in(page, base, feedback.manager.username)

    page.get_by_role("link", name="工单", exact=True).click()
    page.get_by_test_id("alert-rules-link").click()
    page.wait_for_url(f"{base}/t/acme/alerts/rules/")
    expect(page.get_by_test_id("alert-rules")).to_contain_text("NPS ≤ 6 或 CSAT ≤ 2 或 情感 = 负面")
    page.get_by_role("link", name="新建规则").click()

    editor = page.get_by_role("form", name="预警规则")
    editor.get_by_label("规则名称").fill("监管投诉升级")
    editor.get_by_label("工单优先级").select_option("urgent")
    editor.get_by_label("SLA 时限（工作小时）").fill("4")
    editor.get_by_label("满足任一条件（或）").check()
    rows = editor.locator("[data-condition-row]")
    first = rows.nth(0)
    first.get_by_label("指标").select_option("risk_flag")
    # A list fact is offered only the operators that fit a list, and a list of its values.
    offered = first.get_by_label("比较").locator("option:not([disabled])")
    expect(offered).to_have_text(["—", "包含", "属于其一（可多选）"])
    first.get_by_label("比较").select_option("contains")
    expect(first.get_by_label("输入值")).to_be_hidden()
    first.get_by_label("选择值").select_option(label="监管投诉")

    editor.get_by_role("button", name="添加条件").click()
    second = rows.nth(1)
    second.get_by_label("指标").select_option("nps")
    expect(second.get_by_label("选择值")).to_be_hidden()
    second.get_by_label("比较").select_option("lte")
    second.get_by_label("输入值").fill("11")
    editor.get_by_role("button", name="添加条件").click()
    rows.nth(2).get_by_label("指标").select_option("sentiment")
    rows.nth(2).get_by_role("button", name="移除").click()
    expect(rows.nth(2)).to_be_hidden()
    editor.get_by_role("button", name="保存规则").click()

    # NPS 11 is refused on its own row; nothing typed is lost.
    editor = page.get_by_role("form", name="预警规则")
    rows = editor.locator("[data-condition-row]")
    expect(rows.nth(1).get_by_test_id("row-error")).to_contain_text("NPS 的值应为 0 到 10 的整数")
    expect(editor.get_by_test_id("row-error")).to_have_count(1)
    expect(editor.get_by_label("规则名称")).to_have_value("监管投诉升级")
    expect(editor.get_by_label("SLA 时限（工作小时）")).to_have_value("4")
    expect(rows.nth(0).get_by_label("选择值")).to_have_value("regulator")
    expect(rows.nth(1).get_by_label("输入值")).to_have_value("11")
    assert_accessible(page)
    rows.nth(1).get_by_label("输入值").fill("6")

    editor.get_by_role("button", name=re.compile("^预览")).click()
    preview = page.get_by_test_id("rule-preview")
    expect(preview).to_contain_text("已评分的 2 份回复中，有 1 份满足这些条件")
    expect(preview.get_by_test_id("preview-examples")).to_contain_text("银保监会")
    screenshot(page, "alert-rule-editor.png")
    assert_accessible(page)

    page.get_by_role("form", name="预警规则").get_by_role("button", name="保存规则").click()
    page.wait_for_url(f"{base}/t/acme/alerts/rules/")
    row = page.get_by_test_id("alert-rules").locator("tr", has_text="监管投诉升级")
    expect(row.get_by_test_id("rule-conditions")).to_have_text("风险信号 包含 监管投诉 或 NPS ≤ 6")
    expect(row).to_contain_text("紧急")
    expect(row).to_contain_text("启用中")

    row.get_by_role("button", name="停用").click()
    row = page.get_by_test_id("alert-rules").locator("tr", has_text="监管投诉升级")
    expect(row).to_contain_text("已停用")
    screenshot(page, "alert-rules.png")
    assert_accessible(page)
    assert js_errors == []


def test_the_editor_works_without_javascript(live_server, open_page, world):
    base = live_server.url
    page = open_page(java_script_enabled=False)
    log_in(page, base, world.manager.username)
    page.goto(f"{base}/t/acme/alerts/rules/new/")
    editor = page.get_by_role("form", name="预警规则")
    editor.get_by_label("规则名称").fill("媒体曝光")
    editor.get_by_role("button", name="添加条件").click()  # a round trip adds the row
    rows = page.get_by_role("form", name="预警规则").locator("[data-condition-row]")
    expect(rows).to_have_count(2)
    rows.nth(0).get_by_label("指标").select_option("risk_flag")
    rows.nth(0).get_by_label("比较").select_option("contains")
    rows.nth(0).get_by_label("选择值").select_option(label="媒体曝光")
    rows.nth(1).get_by_label("指标").select_option("csat")
    rows.nth(1).get_by_label("比较").select_option("lte")
    rows.nth(1).get_by_label("输入值").fill("2")
    screenshot(page, "alert-rule-editor-no-js.png")
    page.get_by_role("button", name="保存规则").click()
    page.wait_for_url(f"{base}/t/acme/alerts/rules/")
    row = page.get_by_test_id("alert-rules").locator("tr", has_text="媒体曝光")
    expect(row.get_by_test_id("rule-conditions")).to_have_text("风险信号 包含 媒体曝光 或 CSAT ≤ 2")


def test_viewer_reads_the_rules_but_cannot_edit_them(live_server, open_page, world):
    base = live_server.url
    page = open_page()
    log_in(page, base, world.viewer.username)
    page.get_by_role("link", name="预警规则", exact=True).click()
    page.wait_for_url(f"{base}/t/acme/alerts/rules/")
    expect(page.get_by_test_id("alert-rules")).to_contain_text("NPS ≤ 6 或 CSAT ≤ 2 或 情感 = 负面")
    expect(page.get_by_role("link", name="新建规则")).to_have_count(0)
    expect(page.get_by_role("button", name="停用")).to_have_count(0)
    expect(page.get_by_test_id("alert-rules").get_by_role("link")).to_have_count(0)
    assert page.goto(f"{base}/t/acme/alerts/rules/new/").status == 403
