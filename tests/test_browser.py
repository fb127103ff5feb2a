"""End-to-end tests in the system Chromium: the pages people actually use, driven like a person.

Every test opens fresh browser contexts (Chinese by default, a phone where the page is meant for
phones) against pytest-django's live server, and logs in through the real login form.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from alerts.models import Ticket
from analytics.services import response_score
from organizations.tenancy import tenant_context
from surveys.services import response_submit, survey_close
from tests.browser_pages import assert_accessible, log_in, question, screenshot
from tests.conftest import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

NPS_TEXT = "您有多大可能向朋友推荐我们的网点？"
CSAT_TEXT = "您对柜员的服务满意吗？"
CES_TEXT = "这次办理业务有多费力？"
SINGLE_TEXT = "您办理的是哪类业务？"
MULTIPLE_TEXT = "哪些方面需要改进？"
FREE_TEXT = "请告诉我们原因"
VERBATIM = "排队等了一个多小时，柜员态度也很差"


def kpi_value(page: Page, testid: str) -> str:
    return page.get_by_test_id(testid).locator(".value").inner_text().strip()


def add_question(page: Page, qtype: str, text_zh: str, *, options=(), required=False) -> None:
    count = page.locator("ol.questions > li[data-question]").count()
    form = page.locator("#add-question")
    form.get_by_label("题型").select_option(qtype)
    form.get_by_label("题目（中文）").fill(text_zh)
    form.get_by_label("选项").fill("\n".join(options))
    if required:
        form.get_by_label("必答").check()
    form.get_by_role("button", name="添加", exact=True).click()
    expect(page.locator("ol.questions > li[data-question]")).to_have_count(count + 1)
    expect(page.locator("ol.questions > li[data-question]").last).to_contain_text(text_zh)


def test_whole_loop_manager_publishes_respondent_answers_badly_agent_closes_dashboard_counts(
    live_server, open_page, world, scoring_worker
):
    base = live_server.url

    # The manager notes the dashboard's response count, then builds and publishes a survey.
    manager = open_page()
    js_errors: list[str] = []
    manager.on("pageerror", lambda error: js_errors.append(str(error)))
    log_in(manager, base, world.manager.username)
    manager.goto(f"{base}/t/acme/dashboard/")
    responses_before = int(kpi_value(manager, "kpi-responses"))

    manager.goto(f"{base}/t/acme/surveys/")
    create = manager.get_by_role("form", name="新建问卷")
    create.get_by_label("问卷名称").fill("柜台服务回访")
    touchpoint_label = create.locator("select[name=touchpoint] option", has_text="网点柜台")
    create.locator("select[name=touchpoint]").select_option(label=touchpoint_label.inner_text())
    create.get_by_role("button", name="创建").click()
    manager.wait_for_url(re.compile(r"/t/acme/surveys/\d+/$"))
    expect(manager.locator("main")).to_contain_text("网点柜台")

    add_question(manager, "nps", NPS_TEXT, required=True)
    add_question(manager, "csat", CSAT_TEXT)
    add_question(manager, "ces", CES_TEXT)
    add_question(manager, "single_choice", SINGLE_TEXT, options=["开户", "转账", "理财"])
    add_question(manager, "multiple_choice", MULTIPLE_TEXT, options=["排队时间", "服务态度"])
    add_question(manager, "text", FREE_TEXT)
    expect(
        manager.locator("li[data-question]", has_text=NPS_TEXT).locator(".required")
    ).to_be_visible()
    assert_accessible(manager)
    manager.get_by_role("button", name="发布问卷").click()
    expect(manager.get_by_role("status")).to_contain_text("已发布第 1 版")

    public_url = manager.get_by_test_id("public-link").get_attribute("href")
    assert public_url.startswith(f"{base}/s/")
    manager.wait_for_function(
        "() => { const qr = document.querySelector('img.qr');"
        " return qr && qr.complete && qr.naturalWidth > 0; }"
    )
    qr = manager.context.request.get(base + manager.locator("img.qr").get_attribute("src"))
    assert qr.ok
    assert qr.headers["content-type"] == "image/png"
    assert qr.body().startswith(PNG_MAGIC)

    # A respondent on a phone first forgets the required NPS and writes far too much.
    respondent = open_page(phone=True)
    respondent.goto(public_url)
    expect(respondent.locator("fieldset.question")).to_have_count(6)
    too_long = "慢" * 2001
    question(respondent, CSAT_TEXT).get_by_role("radio", name="2", exact=True).check()
    question(respondent, FREE_TEXT).locator("textarea").fill(too_long)
    respondent.get_by_role("button", name="提交").click()

    expect(respondent.locator(".summary[role=alert]")).to_contain_text("2 道题")
    expect(question(respondent, NPS_TEXT).get_by_role("alert")).to_have_text("此题为必答题。")
    expect(question(respondent, FREE_TEXT).get_by_role("alert")).to_contain_text("最多 2000 字")
    expect(question(respondent, FREE_TEXT).locator("textarea")).to_have_value(too_long)
    expect(
        question(respondent, CSAT_TEXT).get_by_role("radio", name="2", exact=True)
    ).to_be_checked()
    screenshot(respondent, "respondent-phone-errors.png")
    assert_accessible(respondent)

    # Then fixes it and is thanked.
    question(respondent, NPS_TEXT).get_by_role("radio", name="2", exact=True).check()
    question(respondent, CES_TEXT).get_by_role("radio", name="6", exact=True).check()
    question(respondent, SINGLE_TEXT).get_by_role("radio", name="开户").check()
    question(respondent, MULTIPLE_TEXT).get_by_role("checkbox", name="排队时间").check()
    question(respondent, MULTIPLE_TEXT).get_by_role("checkbox", name="服务态度").check()
    question(respondent, FREE_TEXT).locator("textarea").fill(VERBATIM)
    respondent.get_by_role("button", name="提交").click()
    respondent.wait_for_url(re.compile(r"/s/[^/]+/thanks/$"))
    expect(respondent.get_by_role("status")).to_contain_text("感谢您的反馈")
    screenshot(respondent, "respondent-phone-thanks.png")

    # The agent of the branch owning the touchpoint sees the ticket once scoring has run.
    agent = open_page()
    log_in(agent, base, world.agent.username)
    agent.goto(f"{base}/t/acme/tickets/")
    row = agent.locator("tr[data-ticket]", has_text=VERBATIM)

    def ticket_row_shown() -> bool:
        agent.reload()
        return row.count() == 1

    wait_until(ticket_row_shown, timeout=60, interval=0.5)
    expect(row).to_contain_text("浦东支行")
    expect(row).to_contain_text("网点柜台")
    row.get_by_role("link").click()
    agent.wait_for_url(re.compile(r"/t/acme/tickets/\d+/$"))

    status = agent.get_by_test_id("ticket-status")
    expect(status).to_have_text("待处理")
    expect(agent.locator("dl.answers")).to_contain_text(VERBATIM)
    expect(agent.locator("dl.answers")).to_contain_text("排队时间、服务态度")

    agent.get_by_role("button", name="认领", exact=True).click()
    expect(status).to_have_text("处理中")
    agent.get_by_label("跟进记录").fill("已致电客户致歉，约定下周回访")
    agent.get_by_role("button", name="添加记录").click()
    expect(agent.locator("ol.history")).to_contain_text("已致电客户致歉，约定下周回访")
    agent.get_by_label("根本原因").select_option(label="排队等候时间长")
    agent.get_by_label("解决方案").fill("增开高峰时段窗口")
    agent.get_by_role("button", name="解决", exact=True).click()
    expect(status).to_have_text("已解决")
    agent.get_by_role("button", name="关闭", exact=True).click()
    expect(status).to_have_text("已关闭")

    expect(agent.locator("dl.facts")).to_contain_text("排队等候时间长")
    expect(agent.locator("dl.facts")).to_contain_text("增开高峰时段窗口")
    steps = agent.locator("ol.history > li")
    expect(steps).to_have_count(5)
    for index, kind in enumerate(["创建", "认领", "跟进记录", "状态变更", "状态变更"]):
        expect(steps.nth(index)).to_contain_text(kind)
    agent_name = world.agent.get_full_name() or world.agent.username
    for index in range(1, 5):
        expect(steps.nth(index)).to_contain_text(agent_name)
    expect(agent.get_by_role("button", name="重开")).to_be_visible()
    screenshot(agent, "ticket-closed.png")
    assert_accessible(agent)

    # The manager's dashboard counts the new response and shows what the customer said.
    manager.goto(f"{base}/t/acme/dashboard/")
    expect(manager.get_by_test_id("kpi-responses").locator(".value")).to_have_text(
        str(responses_before + 1)
    )
    verbatims = manager.locator("section.card").filter(
        has=manager.get_by_role("heading", name="最新原声")
    )
    expect(verbatims).to_contain_text(VERBATIM)
    expect(manager.get_by_test_id("by-touchpoint")).to_contain_text("网点柜台")
    expect(manager.locator(".chart .js-plotly-plot")).to_have_count(1)
    screenshot(manager, "dashboard.png")
    assert_accessible(manager)
    assert js_errors == []


def test_respondent_page_works_without_javascript(live_server, open_page, world):
    page = open_page(phone=True, java_script_enabled=False)
    page.goto(f"{live_server.url}/s/{world.link.token}/")
    question(page, "推荐").get_by_role("radio", name="9", exact=True).check()
    question(page, "满意").get_by_role("radio", name="5", exact=True).check()
    question(page, "原因").locator("textarea").fill("手机上没开脚本也能提交，很方便")
    page.get_by_role("button", name="提交").click()
    page.wait_for_url(re.compile(r"/thanks/$"))
    expect(page.get_by_role("status")).to_contain_text("感谢您的反馈")


def test_respondent_page_speaks_english_when_the_browser_asks(live_server, open_page, world):
    page = open_page(phone=True, locale="en-US")
    page.goto(f"{live_server.url}/s/{world.link.token}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    legends = page.locator("fieldset.question legend")
    expected = [
        "How likely are you to recommend us?",
        "How satisfied were you?",
        "How much effort did it take?",
        "Which channel?",
        "What should improve?",
        "Tell us why",
    ]
    expect(legends).to_have_count(len(expected))
    for index, text in enumerate(expected):
        expect(legends.nth(index)).to_contain_text(text)
    expect(question(page, "Which channel?").get_by_role("radio", name="Branch")).to_be_visible()
    expect(question(page, "What should improve?")).to_contain_text("Waiting")
    expect(page.locator("main")).not_to_contain_text("您有多大可能向朋友推荐我们")
    assert_accessible(page)


def test_closed_survey_says_so(live_server, open_page, world):
    with tenant_context(world.tenant):
        survey_close(survey=world.survey, by=world.manager)
    page = open_page(phone=True)
    response = page.goto(f"{live_server.url}/s/{world.link.token}/")
    assert response.status == 410
    expect(page.get_by_role("status")).to_contain_text("该问卷已关闭")
    expect(page.locator("form")).to_have_count(0)


def test_agent_of_other_branch_does_not_see_the_ticket(live_server, open_page, world, other_world):
    base = live_server.url
    with tenant_context(world.tenant):
        submitted = response_submit(
            survey=world.survey,
            raw_answers={"nps_1": 1, "csat_1": 1, "text_1": "柜员不理人，再也不来了"},
            link=world.link,
        )
        response_score(response_id=submitted.response.pk)
        ticket = Ticket.objects.get(response=submitted.response)
    assert ticket.org_unit_id == world.branch.pk

    # The branch's own agent sees it: the negative checks below are about scope, not timing.
    agent = open_page()
    log_in(agent, base, world.agent.username)
    agent.goto(f"{base}/t/acme/tickets/")
    expect(agent.locator(f"tr[data-ticket='{ticket.number}']")).to_be_visible()

    other_agent = open_page()
    log_in(other_agent, base, world.other_agent.username)
    other_agent.goto(f"{base}/t/acme/tickets/")
    expect(other_agent.locator("table.queue")).to_contain_text("没有工单")
    expect(other_agent.locator("tr[data-ticket]")).to_have_count(0)
    response = other_agent.goto(f"{base}/t/acme/tickets/{ticket.number}/")
    assert response.status == 404
    expect(other_agent.locator("body")).not_to_contain_text("柜员不理人")

    outsider = open_page()
    log_in(outsider, base, other_world.manager.username)
    response = outsider.goto(f"{base}/t/acme/tickets/")
    assert response.status == 404
    response = outsider.goto(f"{base}/t/acme/tickets/{ticket.number}/")
    assert response.status == 404


def test_pages_for_each_role_render(live_server, open_page, world):
    base = live_server.url

    manager = open_page()
    log_in(manager, base, world.manager.username)
    manager.goto(f"{base}/t/acme/dashboard/")
    expect(manager.get_by_role("heading", name="体验仪表盘")).to_be_visible()
    expect(manager.get_by_test_id("kpi-nps")).to_be_visible()
    manager.goto(f"{base}/t/acme/journeys/")
    journey = manager.locator("section.journey", has_text=world.journey.name)
    expect(journey.locator("h2")).to_have_text(world.journey.name)
    expect(journey.locator(".stage h3")).to_have_text(world.touchpoint.stage.name)
    expect(journey.locator(".touchpoint")).to_contain_text("网点柜台")
    expect(journey.locator(".touchpoint")).to_contain_text("浦东支行")
    manager.goto(f"{base}/t/acme/surveys/")
    survey_row = manager.locator("tbody tr", has_text=world.survey.name)
    expect(survey_row).to_contain_text("网点柜台")
    expect(survey_row.get_by_role("link", name=world.survey.name)).to_be_visible()

    viewer = open_page()
    log_in(viewer, base, world.viewer.username)
    viewer.goto(f"{base}/t/acme/dashboard/")
    expect(viewer.get_by_role("heading", name="体验仪表盘")).to_contain_text("华东区")
    response = viewer.goto(f"{base}/t/acme/surveys/{world.survey.pk}/")
    assert response.status == 403

    owner = open_page()
    log_in(owner, base, "acme-owner")
    owner.goto(f"{base}/")
    owner.wait_for_url(f"{base}/t/acme/dashboard/")
    owner.get_by_role("link", name="API 密钥").click()
    owner.wait_for_url(f"{base}/t/acme/settings/api-keys/")
    owner.get_by_label("名称").fill("数据仓库同步")
    owner.get_by_role("button", name="创建密钥").click()
    new_key = owner.get_by_test_id("new-api-key")
    expect(new_key).to_have_text(re.compile(r"^cem_\S+$"))
    plaintext = new_key.inner_text().strip()
    row = owner.locator("tbody tr", has_text="数据仓库同步")
    expect(row).to_contain_text("有效")
    assert plaintext.startswith(row.locator("code").inner_text().rstrip("…"))

    api = owner.context.request
    headers = {"Authorization": f"Api-Key {plaintext}"}
    assert api.get(f"{base}/api/v1/surveys/", headers=headers).status == 200

    owner.goto(f"{base}/t/acme/settings/api-keys/")
    expect(owner.get_by_test_id("new-api-key")).to_have_count(0)
    row.get_by_role("button", name="吊销").click()
    expect(owner.get_by_role("status")).to_contain_text("已吊销 API 密钥 数据仓库同步")
    expect(row).to_contain_text("已吊销")
    expect(row.get_by_role("button", name="吊销")).to_have_count(0)
    expect(owner.locator("tbody tr", has_text="CRM")).to_contain_text("有效")
    assert api.get(f"{base}/api/v1/surveys/", headers=headers).status == 401
