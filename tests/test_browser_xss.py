"""Script never runs from what tenants or respondents typed: the Content-Security-Policy allows
no inline script on any page, and settings stored before they were checked stay inert."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from organizations.tenancy import tenant_context
from surveys.models import SurveyVersion
from tests.browser_pages import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_script_link_stored_before_the_checks_never_runs_after_submitting(
    live_server, open_page, world
):
    with tenant_context(world.tenant):
        SurveyVersion.objects.filter(pk=world.survey.live_version_id).update(
            definition={
                **world.survey.live_version.definition,
                "redirect_url": "javascript:alert(document.domain)",
                "theme": {"brand_color": "red;}body{background:red}"},
            }
        )
    page = open_page(phone=True)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{live_server.url}/s/{world.link.token}/")
    questions = page.locator("fieldset.question")
    questions.nth(0).locator("label.point", has_text="9").click()
    questions.nth(1).locator("label.point", has_text="4").click()
    page.get_by_role("button", name="提交").click()
    expect(page.locator("main")).to_contain_text("感谢")
    expect(page.get_by_role("link", name="继续")).to_have_count(0)
    page.wait_for_timeout(500)
    assert dialogs == []
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(255, 0, 0)"


def test_no_page_runs_an_inline_script(live_server, browser, world):
    # A context of its own: open_page fails a test on any violation, and here one is the point.
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        log_in(page, live_server.url, world.manager.username)
        page.goto(f"{live_server.url}/t/{world.tenant.slug}/dashboard/")
        with pytest.raises(PlaywrightError):
            page.add_script_tag(content="window.injected = true;")
        assert page.evaluate("window.injected === undefined")
    finally:
        context.close()
