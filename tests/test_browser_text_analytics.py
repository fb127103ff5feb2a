"""Text analytics in the system Chromium: a CX manager reads what customers write, drills down
to the verbatims and their tickets, teaches the dictionary a word and a topic, and a viewer
sees only their region.

Every test opens fresh browser contexts (Chinese) against pytest-django's live server, and
people log in through the real login form.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from analytics.services import text_themes_discover, topic_keywords_add
from organizations.tenancy import tenant_context
from tests.browser_pages import assert_accessible, log_in, screenshot
from tests.helpers import submit_and_score

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXTS = [
    (2, "服务态度很好，但是排队太久了，只开了两个窗口"),
    (1, "排队等了一个多小时，柜员态度也很差，再不改进我就投诉到银保监会"),
    (10, "柜员非常专业，办理很快，很满意"),
    (9, "大堂经理很热情，环境也干净"),
    (3, "App更新后经常闪退，登录不上"),
    (4, "新版App一打开就闪退，转账转不了"),
    (2, "手机App闪退好几次，客服也说不清楚"),
    (6, "信用卡年费被莫名扣了，App上也查不到"),
    (8, "叫号机坏了，排队很乱"),
]


@pytest.fixture
def feedback(world):
    with tenant_context(world.tenant):
        topic_keywords_add(name="排队等候", keywords="排队、叫号、窗口", by=world.manager)
        topic_keywords_add(name="信用卡", keywords="信用卡、年费", by=world.manager)
    for nps, text in TEXTS:
        submit_and_score(world, {"nps_1": nps, "csat_1": 3, "text_1": text})
    with tenant_context(world.tenant):
        text_themes_discover()  # as the worker's beat does
    return world


def test_manager_reads_drills_down_to_a_ticket_and_teaches_the_dictionary(
    live_server, open_page, feedback
):
    base = live_server.url
    manager = open_page(viewport={"width": 1280, "height": 900})
    js_errors: list[str] = []
    manager.on("pageerror", lambda error: js_errors.append(str(error)))
    log_in(manager, base, feedback.manager.username)

    manager.get_by_role("link", name="文本分析", exact=True).click()
    manager.wait_for_url(f"{base}/t/acme/text-analytics/")
    expect(manager.get_by_role("heading", name=re.compile("^文本分析"))).to_be_visible()
    expect(manager.get_by_test_id("kpi-texts").locator(".value")).to_have_text(str(len(TEXTS)))
    expect(manager.locator(".chart .js-plotly-plot")).to_have_count(3)
    expect(manager.get_by_test_id("topic-matrix")).to_contain_text("排队等候")
    expect(manager.get_by_test_id("risks")).to_contain_text("监管投诉")
    themes = manager.get_by_test_id("themes")
    expect(themes).to_contain_text("闪退")
    screenshot(manager, "text-analytics.png")
    assert_accessible(manager)

    # The negative count of 等待时间 lists only texts that blame the wait.
    waiting = manager.get_by_test_id("aspects").locator("tr", has_text="等待时间")
    waiting.locator("td").nth(3).get_by_role("link").click()
    expect(manager.get_by_test_id("drill-down")).to_contain_text("等待时间")
    verbatims = manager.get_by_test_id("verbatims").locator("li")
    expect(verbatims.first).to_contain_text("排队")
    for text in verbatims.all_inner_texts():
        assert "排队" in text
    assert "闪退" not in manager.get_by_test_id("verbatims").inner_text()

    # The complaint that threatened the regulator opened a ticket; its verbatim links to the
    # whole response, and from there (and from the list) to the ticket.
    complaint = manager.get_by_test_id("verbatims").locator("li", has_text="银保监会")
    complaint.get_by_role("link", name=re.compile("银保监会")).click()
    manager.wait_for_url(re.compile(r"/t/acme/responses/\d+/$"))
    expect(manager.get_by_test_id("response-answers")).to_contain_text("银保监会")
    manager.go_back()
    complaint.get_by_role("link", name=re.compile("工单 #")).click()
    manager.wait_for_url(re.compile(r"/t/acme/tickets/\d+/$"))
    expect(manager.locator("dl.answers")).to_contain_text("银保监会")

    # A discovered theme becomes a topic of the taxonomy in one step.
    manager.goto(f"{base}/t/acme/text-analytics/")
    theme = manager.get_by_test_id("themes").locator("li", has_text="闪退").first
    theme.get_by_label("主题名称").fill("App 闪退")
    theme.get_by_role("button", name="加入主题分类").click()
    manager.wait_for_url(f"{base}/t/acme/text-analytics/dictionary/")
    expect(manager.get_by_test_id("topic-taxonomy")).to_contain_text("App 闪退")

    # A product name the tenant uses stays one word; the try-it box shows it at once.
    manager.get_by_role("form", name="添加自定义词").get_by_label("自定义词").fill("大额存单")
    manager.get_by_role("button", name="添加自定义词").click()
    expect(manager.get_by_test_id("user-words")).to_contain_text("大额存单")
    aspect_form = manager.get_by_role("form", name="添加方面触发词")
    aspect_form.get_by_label("方面").fill("理财收益")
    aspect_form.get_by_label("触发词").fill("收益、年化")
    aspect_form.get_by_role("button", name="保存到方面词典").click()
    expect(manager.get_by_test_id("aspect-dictionary")).to_contain_text("理财收益")
    manager.get_by_label("试一试：输入一段客户反馈").fill("大额存单的年化收益太低了，服务倒是不错")
    manager.get_by_role("button", name="分析", exact=True).click()
    sample = manager.get_by_test_id("sample-analysis")
    expect(sample).to_contain_text("理财收益")
    expect(sample).to_contain_text("大额存单")
    screenshot(manager, "text-dictionary.png")
    assert_accessible(manager)
    assert js_errors == []


def test_viewer_sees_the_text_analytics_of_their_region_only(live_server, open_page, feedback):
    viewer = open_page()
    log_in(viewer, live_server.url, feedback.viewer.username)
    viewer.goto(f"{live_server.url}/t/acme/text-analytics/")
    expect(viewer.get_by_role("heading", name=re.compile("^文本分析"))).to_contain_text("华东区")
    expect(viewer.get_by_test_id("verbatims")).to_contain_text("排队")
    expect(viewer.get_by_role("link", name="词典与主题分类")).to_have_count(0)
    response = viewer.goto(f"{live_server.url}/t/acme/text-analytics/dictionary/")
    assert response.status == 403


def test_manager_uploads_external_posts_and_reads_them_as_their_own_source(
    live_server, open_page, world, eager_tasks, tmp_path
):
    """Upload a CSV (refused first for a missing column, then taken), read the posts and their
    relations on the text page under the external source; the pages pass axe."""
    base = live_server.url
    manager = open_page(viewport={"width": 1280, "height": 900})
    log_in(manager, base, world.manager.username)
    manager.goto(f"{base}/t/acme/text-analytics/")
    manager.get_by_role("link", name="导入外部声音").click()
    expect(manager.get_by_role("heading", name="导入外部声音", exact=True)).to_be_visible()
    assert_accessible(manager)

    wrong = tmp_path / "wrong.csv"
    wrong.write_text("source_id,author\nT-1,小王\n", encoding="utf-8")
    manager.get_by_label("文件（CSV 或 Excel .xlsx）").set_input_files(wrong)
    manager.get_by_role("textbox", name=re.compile("^来源")).fill("黑猫投诉")
    manager.get_by_role("button", name="导入").click()
    expect(manager.get_by_test_id("file-error")).to_contain_text("缺少必需的列：text")
    assert_accessible(manager)

    posts = tmp_path / "posts.csv"
    posts.write_text(
        "编号,内容\nT-1,柜员态度差，我要投诉到银保监会\nT-2,App老是闪退\n", encoding="gb18030"
    )
    manager.get_by_label("文件（CSV 或 Excel .xlsx）").set_input_files(posts)
    manager.get_by_role("textbox", name=re.compile("^来源")).fill("黑猫投诉")
    manager.get_by_role("button", name="导入").click()
    expect(manager.get_by_role("status")).to_contain_text("已导入 2 条")
    expect(manager.get_by_test_id("posts")).to_contain_text("柜员-态度差")

    manager.get_by_role("link", name="查看外部声音的文本分析").click()
    expect(manager.get_by_test_id("kpi-texts").locator(".value")).to_have_text("2")
    expect(manager.get_by_test_id("risks")).to_contain_text("监管投诉")
    manager.get_by_test_id("relations").get_by_role("link", name="闪退").click()
    verbatims = manager.get_by_test_id("verbatims")
    expect(verbatims).to_contain_text("App老是闪退")
    expect(verbatims).not_to_contain_text("柜员态度差")
    assert_accessible(manager)
