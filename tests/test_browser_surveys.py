"""Multi-page surveys in the system Chromium: a CX manager builds one with logic from a template,
and respondents answer page by page on a phone, with back and reload, without JavaScript, and
with hidden fields carried in from the link.

Every test opens fresh browser contexts (Chinese, a phone where the page is meant for phones)
against pytest-django's live server, and the manager logs in through the real login form.
"""

from __future__ import annotations

import copy
import re

import pytest
from playwright.sync_api import Page, expect

from organizations.tenancy import tenant_context
from surveys import library, services
from surveys.definition import iter_questions
from surveys.models import Response, Survey
from tests.browser_pages import assert_accessible, log_in, question, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# The "branch_visit" template's questions, as a respondent reads them in Chinese.
CSAT_TEXT = "您对本次到店体验满意吗？"
WAIT_TEXT = "您等候了多长时间？"
STAFF_TEXT = "您是否同意以下说法？"
NPS_TEXT = "您有多大可能向朋友或同事推荐我们？"
REASON_TEXT = "您给出这个分数的主要原因是什么？"
REASON = "大堂经理很热情，就是叫号系统有点慢"
MATRIX = {"员工热情有礼": "同意", "业务办理高效": "一般", "环境整洁舒适": "非常同意"}


@pytest.fixture(autouse=True)
def generous_submit_limit(settings):
    """Every page of a survey is a POST: keep the per-address limit (shared by all the tests of
    a run, and by runs within the same minute on Redis) out of these tests' way."""
    settings.CEM_PUBLIC_SUBMIT_RATE = 10_000


def submit(button) -> None:
    """Click a button that posts a builder form, and wait for the page it leads back to."""
    with button.page.expect_navigation():
        button.click()


def page_keys_in_builder(page: Page) -> list[str]:
    return page.locator("section.page-card").evaluate_all(
        "sections => sections.map(s => s.dataset.page)"
    )


def question_keys_on(page: Page, page_key: str) -> list[str]:
    """The question keys the builder lists on one survey page, in order."""
    return page.locator(f"section[data-page={page_key}] li[data-question]").evaluate_all(
        "items => items.map(item => item.dataset.question)"
    )


def builder_question(page: Page, key: str):
    return page.locator(f"li[data-question={key}]")


def page_settings(page: Page, page_key: str):
    """The 页面设置与跳转逻辑 panel of one page, opened."""
    panel = page.locator(f"section[data-page={page_key}] > details.editor")
    if panel.get_attribute("open") is None:
        panel.locator("summary").click()
    return panel


def draft_definition(world, survey_id: int) -> dict:
    with tenant_context(world.tenant):
        return Survey.objects.get(pk=survey_id).versions.order_by("-number").first().definition


def published_survey(world, definition: dict, name: str) -> Survey:
    with tenant_context(world.tenant):
        survey = services.survey_create(
            name=name, touchpoint=world.touchpoint, by=world.manager, definition=definition
        )
        services.survey_publish(survey=survey, by=world.manager)
        survey.refresh_from_db()
        return survey


def public_url(live_server, survey: Survey, query: str = "") -> str:
    with tenant_context(survey.tenant):
        token = survey.links.get().token
    return f"{live_server.url}/s/{token}/{query}"


def only_response(world, survey: Survey) -> Response:
    with tenant_context(world.tenant):
        [response] = Response.objects.filter(survey=survey)
        return response


def no_horizontal_scroll(page: Page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


# ---------------------------------------------------------------- the builder


def test_manager_builds_a_multi_page_survey_with_logic_in_the_browser(
    live_server, open_page, world
):
    base = live_server.url
    manager = open_page()
    js_errors: list[str] = []
    manager.on("pageerror", lambda error: js_errors.append(str(error)))
    log_in(manager, base, world.manager.username)

    # Start from the branch-visit template.
    manager.goto(f"{base}/t/acme/surveys/")
    create = manager.get_by_role("form", name="新建问卷")
    create.get_by_label("问卷名称").fill("网点到访回访")
    touchpoint = create.locator("select[name=touchpoint] option", has_text="网点柜台")
    create.get_by_label("绑定触点").select_option(label=touchpoint.inner_text())
    create.get_by_label("从模板创建").select_option(label="网点到访体验")
    create.get_by_role("button", name="创建").click()
    manager.wait_for_url(re.compile(r"/t/acme/surveys/\d+/$"))
    survey_id = int(manager.url.rstrip("/").rsplit("/", 1)[-1])
    expect(manager.locator("h1")).to_contain_text("网点到访回访")
    assert page_keys_in_builder(manager) == ["p1", "p2"]
    assert question_keys_on(manager, "p1") == ["csat", "wait", "staff"]
    assert question_keys_on(manager, "p2") == ["nps", "reason"]

    # Edit a question's text.
    wait = builder_question(manager, "wait")
    wait.locator("details.editor > summary", has_text="编辑").click()
    editor = wait.locator("details.editor form")
    expect(editor.locator("input[name=text_zh]")).to_have_value(WAIT_TEXT)
    editor.locator("input[name=text_zh]").fill("您在网点等了多久？")
    submit(editor.get_by_role("button", name="保存"))
    expect(wait.locator(".question-row strong")).to_have_text("您在网点等了多久？")

    # Move it up, above the satisfaction question.
    submit(wait.get_by_role("button", name="上移"))
    expect(manager.locator("section[data-page=p1] li[data-question]").first).to_have_attribute(
        "data-question", "wait"
    )
    assert question_keys_on(manager, "p1") == ["wait", "csat", "staff"]

    # Duplicate the satisfaction question, then delete the copy.
    submit(builder_question(manager, "csat").get_by_role("button", name="复制"))
    expect(manager.locator("section[data-page=p1] li[data-question]")).to_have_count(4)
    keys = question_keys_on(manager, "p1")
    copy_key = keys[2]
    assert keys[:2] == ["wait", "csat"] and copy_key.startswith("csat") and copy_key != "csat"
    expect(builder_question(manager, copy_key).locator(".question-row strong")).to_have_text(
        CSAT_TEXT
    )
    submit(builder_question(manager, copy_key).get_by_role("button", name="删除"))
    expect(builder_question(manager, copy_key)).to_have_count(0)
    assert question_keys_on(manager, "p1") == ["wait", "csat", "staff"]

    # Add a third page and move the free-text reason to it.
    submit(manager.get_by_role("button", name="添加一页"))
    expect(manager.locator("section[data-page=p3]")).to_be_visible()
    expect(manager.locator("section[data-page=p3]")).to_contain_text("本页还没有题目")
    reason = builder_question(manager, "reason")
    reason.get_by_label("移到页").select_option("p3")
    submit(reason.get_by_role("button", name="移到该页"))
    expect(manager.locator("section[data-page=p3] li[data-question=reason]")).to_be_visible()
    assert question_keys_on(manager, "p2") == ["nps"]

    # After page 1, the very dissatisfied (CSAT ≤ 2) go straight to the end.
    panel = page_settings(manager, "p1")
    expect(panel).to_contain_text("无：按顺序进入下一页。")
    panel.get_by_label("条件题目").select_option("csat")
    panel.get_by_label("条件", exact=True).select_option("lte")
    panel.get_by_label("值", exact=True).fill("2")
    panel.get_by_label("跳到").select_option("end")
    submit(panel.get_by_role("button", name="添加规则"))
    panel = page_settings(manager, "p1")
    rule = panel.locator("li[data-skip-rule]")
    expect(rule).to_have_count(1)
    expect(rule).to_contain_text("当 csat ≤ 2 → 结束")

    # Ask for the reason only of those who would not recommend us (NPS ≤ 6).
    reason = builder_question(manager, "reason")
    reason.locator("details.editor > summary").click()
    logic = reason.locator("fieldset.logic")
    logic.get_by_label("条件题目").select_option("nps")
    logic.get_by_label("条件", exact=True).select_option("lte")
    logic.get_by_label("值", exact=True).fill("6")
    submit(reason.locator("details.editor form").get_by_role("button", name="保存"))
    expect(reason.locator(".question-row")).to_contain_text("显示条件：nps ≤ 6")
    reason.locator("details.editor > summary").click()
    expect(logic.get_by_label("条件题目")).to_have_value("nps")
    expect(logic.get_by_label("条件", exact=True)).to_have_value("lte")
    expect(logic.get_by_label("值", exact=True)).to_have_value("6")

    # Brand colour.
    settings = manager.locator("#settings")
    settings.get_by_label("品牌色").fill("#aa0000")
    submit(settings.get_by_role("button", name="保存设置"))
    expect(manager.locator("#settings").get_by_label("品牌色")).to_have_value("#aa0000")
    expect(manager.locator(".flash.error")).to_have_count(0)
    expect(manager.get_by_role("status")).to_contain_text("已保存到草稿")

    definition = draft_definition(world, survey_id)
    assert [page["key"] for page in definition["pages"]] == ["p1", "p2", "p3"]
    assert [[q["key"] for q in page["questions"]] for page in definition["pages"]] == [
        ["wait", "csat", "staff"],
        ["nps"],
        ["reason"],
    ]
    assert definition["pages"][0]["skip"] == [
        {"when": {"question": "csat", "op": "lte", "value": 2}, "to": "end"}
    ]
    by_key = {q["key"]: q for q in iter_questions(definition)}
    assert by_key["wait"]["text"]["zh-hans"] == "您在网点等了多久？"
    assert by_key["reason"]["display"] == {"question": "nps", "op": "lte", "value": 6}
    assert definition["theme"] == {"brand_color": "#aa0000"}

    # The preview opens in a new tab and shows the draft page by page, in the brand colour.
    with manager.context.expect_page() as new_tab:
        manager.get_by_test_id("preview").click()
    preview = new_tab.value
    preview.wait_for_load_state()
    expect(preview.locator(".preview-banner")).to_contain_text("预览：不会保存回答。")
    expect(preview.locator("main")).to_contain_text("第 1 / 3 页")
    expect(preview.locator("fieldset.question legend").first).to_contain_text("您在网点等了多久？")
    expect(preview.locator("fieldset.question")).to_have_count(3)
    brand = preview.evaluate(
        "() => getComputedStyle(document.documentElement).getPropertyValue('--brand').trim()"
    )
    assert brand == "#aa0000"
    preview.get_by_role("link", name="下一页").click()
    expect(preview.locator("main")).to_contain_text("第 2 / 3 页")
    expect(question(preview, NPS_TEXT)).to_be_visible()
    screenshot(preview, "builder-preview.png")
    assert_accessible(preview)
    preview.close()

    # Publish: the builder now shows the public link, which serves the first page.
    submit(manager.get_by_role("button", name="发布问卷"))
    expect(manager.get_by_role("status")).to_contain_text("已发布第 1 版")
    link = manager.get_by_test_id("public-link")
    expect(link).to_have_count(1)
    url = link.get_attribute("href")
    assert re.fullmatch(rf"{re.escape(base)}/s/[^/]+/", url)
    expect(manager.get_by_role("button", name="发布问卷")).to_have_count(0)
    screenshot(manager, "builder-published.png")
    assert_accessible(manager)
    with tenant_context(world.tenant):
        survey = Survey.objects.select_related("live_version").get(pk=survey_id)
        assert survey.status == "published" and survey.live_version.number == 1
        assert survey.live_version.definition == definition

    respondent = open_page(phone=True)
    respondent.goto(url)
    expect(respondent.locator("main")).to_contain_text("第 1 / 3 页")
    expect(question(respondent, "您在网点等了多久？")).to_be_visible()
    assert js_errors == []


# ---------------------------------------------------------------- respondents


@pytest.fixture
def branch_visit(world):
    return published_survey(
        world, library.TEMPLATES["branch_visit"].definition("到店体验"), "到店体验"
    )


def answer_page_one(page: Page) -> None:
    question(page, CSAT_TEXT).get_by_role("radio", name=re.compile(r"4$")).check()
    question(page, WAIT_TEXT).get_by_role("radio", name="10-30 分钟").check()
    matrix = question(page, STAFF_TEXT)
    for row, choice in MATRIX.items():
        matrix.get_by_role("radio", name=f"{row}：{choice}", exact=True).check()


def expect_page_one_answers(page: Page) -> None:
    expect(question(page, CSAT_TEXT).get_by_role("radio", name=re.compile(r"4$"))).to_be_checked()
    expect(question(page, CSAT_TEXT).locator("input:checked")).to_have_count(1)
    expect(question(page, WAIT_TEXT).get_by_role("radio", name="10-30 分钟")).to_be_checked()
    matrix = question(page, STAFF_TEXT)
    expect(matrix.locator("input:checked")).to_have_count(len(MATRIX))
    for row, choice in MATRIX.items():
        expect(matrix.get_by_role("radio", name=f"{row}：{choice}", exact=True)).to_be_checked()


def expect_on_page(page: Page, number: int, progress: int) -> None:
    expect(page.locator("main")).to_contain_text(f"第 {number} / 2 页")
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", str(progress))


def expect_complete(world, survey: Survey) -> None:
    response = only_response(world, survey)
    assert response.status == "complete" and response.submitted_at is not None
    assert response.page_path == ["p1", "p2"]
    assert response.answers == {
        "csat": 4,
        "wait": "o2",
        "staff": {"r1": "o4", "r2": "o3", "r3": "o5"},
        "nps": 8,
        "reason": REASON,
    }


def test_respondent_answers_a_multi_page_survey_on_a_phone_with_back_and_reload(
    live_server, open_page, world, branch_visit
):
    page = open_page(phone=True)
    js_errors: list[str] = []
    page.on("pageerror", lambda error: js_errors.append(str(error)))
    page.goto(public_url(live_server, branch_visit))
    expect(page.locator("h1")).to_have_text("到店体验")
    expect_on_page(page, 1, 0)
    expect(page.get_by_role("button", name="上一页")).to_have_count(0)
    expect(page.locator("fieldset.question")).to_have_count(3)
    answer_page_one(page)
    assert no_horizontal_scroll(page), "page 1 scrolls sideways on a 390 px phone"
    screenshot(page, "survey-phone-page1.png")
    assert_accessible(page)

    page.get_by_role("button", name="下一页").click()
    expect_on_page(page, 2, 50)
    expect(question(page, NPS_TEXT)).to_be_visible()
    page.get_by_role("textbox", name=REASON_TEXT).fill(REASON)

    # Back: page 1 still has its answers (and page 2's text is kept on the way).
    page.get_by_role("button", name="上一页").click()
    expect_on_page(page, 1, 0)
    expect_page_one_answers(page)

    page.get_by_role("button", name="下一页").click()
    expect_on_page(page, 2, 50)
    expect(page.get_by_role("textbox", name=REASON_TEXT)).to_have_value(REASON)

    # Reload: still page 2, with what was entered there.
    page.reload()
    expect_on_page(page, 2, 50)
    expect(page.get_by_role("textbox", name=REASON_TEXT)).to_have_value(REASON)
    expect(question(page, NPS_TEXT).locator("input:checked")).to_have_count(0)

    # Forgetting the required NPS keeps the respondent here, with the rest kept.
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".summary[role=alert]")).to_contain_text("1 道题")
    expect(question(page, NPS_TEXT).get_by_role("alert")).to_have_text("此题为必答题。")
    expect(question(page, NPS_TEXT)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("textbox", name=REASON_TEXT)).to_have_value(REASON)
    expect_on_page(page, 2, 50)
    assert no_horizontal_scroll(page), "page 2 scrolls sideways on a 390 px phone"
    screenshot(page, "survey-phone-page2-error.png")
    assert_accessible(page)
    assert only_response(world, branch_visit).status == "partial"

    question(page, NPS_TEXT).get_by_role("radio", name="8", exact=True).check()
    page.get_by_role("button", name="提交").click()
    page.wait_for_url(re.compile(r"/s/[^/]+/thanks/$"))
    expect(page.get_by_role("status")).to_contain_text("感谢您的反馈")
    screenshot(page, "survey-phone-thanks.png")
    assert_accessible(page)
    expect_complete(world, branch_visit)
    assert js_errors == []


def test_multi_page_survey_works_without_javascript(live_server, open_page, world, branch_visit):
    page = open_page(phone=True, java_script_enabled=False)
    page.goto(public_url(live_server, branch_visit))
    expect_on_page(page, 1, 0)
    answer_page_one(page)
    page.get_by_role("button", name="下一页").click()
    expect_on_page(page, 2, 50)
    page.get_by_role("textbox", name=REASON_TEXT).fill(REASON)

    page.get_by_role("button", name="上一页").click()
    expect_on_page(page, 1, 0)
    expect_page_one_answers(page)
    page.get_by_role("button", name="下一页").click()
    expect_on_page(page, 2, 50)
    expect(page.get_by_role("textbox", name=REASON_TEXT)).to_have_value(REASON)

    page.get_by_role("button", name="提交").click()
    expect(question(page, NPS_TEXT).get_by_role("alert")).to_have_text("此题为必答题。")
    expect(page.get_by_role("textbox", name=REASON_TEXT)).to_have_value(REASON)
    question(page, NPS_TEXT).get_by_role("radio", name="8", exact=True).check()
    page.get_by_role("button", name="提交").click()
    page.wait_for_url(re.compile(r"/s/[^/]+/thanks/$"))
    expect(page.get_by_role("status")).to_contain_text("感谢您的反馈")
    expect_complete(world, branch_visit)


STORE_SURVEY = {
    "title": {"zh-hans": "门店回访", "en": "Store follow-up"},
    "hidden_fields": ["store"],
    "pages": [
        {
            "key": "p1",
            "questions": [
                {
                    "key": "csat",
                    "type": "csat",
                    "required": True,
                    "text": {"zh-hans": "您对 {{hidden.store}} 门店的服务满意吗？"},
                }
            ],
        },
        {
            "key": "p2",
            "questions": [
                {
                    "key": "tip",
                    "type": "text",
                    "text": {"zh-hans": "对 {{hidden.store}} 门店还有什么建议？"},
                }
            ],
        },
    ],
}


def test_hidden_fields_from_the_link_are_piped_and_stored(live_server, open_page, world):
    survey = published_survey(world, copy.deepcopy(STORE_SURVEY), "门店回访")
    page = open_page(phone=True)
    page.goto(public_url(live_server, survey, "?store=SH01"))
    expect(page.locator("fieldset.question legend")).to_contain_text("您对 SH01 门店的服务满意吗？")
    expect(page.locator("main")).not_to_contain_text("{{")
    question(page, "SH01").get_by_role("radio", name="5", exact=True).check()
    page.get_by_role("button", name="下一页").click()

    # The value came from the first page's URL; the second page still knows it.
    expect(page.locator("main")).to_contain_text("第 2 / 2 页")
    expect(page.locator("fieldset.question legend")).to_contain_text("对 SH01 门店还有什么建议？")
    page.get_by_role("textbox").fill("周末多开几个窗口")
    page.get_by_role("button", name="提交").click()
    page.wait_for_url(re.compile(r"/s/[^/]+/thanks/$"))
    expect(page.get_by_role("status")).to_contain_text("感谢您的反馈")

    response = only_response(world, survey)
    assert response.status == "complete"
    assert response.extra == {"store": "SH01"}
    assert response.answers == {"csat": 5, "tip": "周末多开几个窗口"}


def test_a_same_page_condition_hides_and_shows_the_question_in_the_browser(
    live_server, open_page, world
):
    definition = library.TEMPLATES["after_call_csat"].definition("通话后回访")
    survey = published_survey(world, definition, "通话后回访")
    page = open_page(phone=True)
    page.goto(public_url(live_server, survey, ""))
    reason = page.locator("fieldset#q-reason")
    expect(reason).to_be_hidden()  # asked only when CSAT is 3 or less
    page.locator("fieldset#q-csat").get_by_role("radio", name="2").check(force=True)
    expect(reason).to_be_visible()
    page.locator("fieldset#q-csat").get_by_role("radio", name="5").check(force=True)
    expect(reason).to_be_hidden()
