"""Improvement projects in the system Chromium: a cause recurs across two branches, the sweep
proposes a project, and a CX manager finds it, confirms it with an owner and the day the fix
went live, plans an action, and reads in the review that NPS really rose."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from alerts.models import Ticket
from analytics.services import response_score
from improvements.tasks import propose_for_recurring_causes
from organizations.tenancy import tenant_context
from surveys.services import response_submit
from tests.browser_pages import assert_accessible, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def plant(world, *, days_ago: int, nps_answers: list[int], link) -> None:
    at = timezone.now() - timedelta(days=days_ago)
    with tenant_context(world.tenant):
        for nps in nps_answers:
            submitted = response_submit(
                survey=world.survey,
                raw_answers={"nps_1": nps, "csat_1": 5 if nps >= 9 else 2},
                link=link,
                submitted_at=at,
                started_at=at,
            )
            response_score(response_id=submitted.response.pk)


@pytest.fixture
def recurring(world):
    """Before the fix mostly detractors, after it mostly promoters, at both branches; every
    ticket (one per detractor) records the world's root cause; the sweep proposes a project."""
    plant(world, days_ago=25, nps_answers=[10] * 8 + [8] * 8 + [2] * 24, link=world.link)
    plant(world, days_ago=24, nps_answers=[10] * 2 + [2] * 6, link=world.branch_link)
    plant(world, days_ago=10, nps_answers=[10] * 28 + [8] * 8 + [2] * 4, link=world.link)
    plant(world, days_ago=9, nps_answers=[10] * 6 + [2] * 2, link=world.branch_link)
    with tenant_context(world.tenant):
        Ticket.objects.update(root_cause=world.root_cause)
    assert propose_for_recurring_causes() == 1
    return world


def test_manager_confirms_a_proposed_project_and_reads_its_review(
    live_server, open_page, recurring
):
    world = recurring
    base = live_server.url
    page = open_page(viewport={"width": 1280, "height": 900})
    log_in(page, base, world.manager.username)

    page.get_by_role("link", name="改进项目", exact=True).first.click()
    table = page.get_by_test_id("improvement-projects")
    title = f"复发原因：{world.root_cause.name}"
    expect(table).to_contain_text(title)
    expect(table).to_contain_text("待确认")
    table.get_by_role("link", name=title).click()

    settings_form = page.get_by_role("form", name="项目设置")
    settings_form.get_by_label("负责人", exact=True).select_option(str(world.manager.pk))
    settings_form.get_by_label("状态", exact=True).select_option("open")
    fix_date = timezone.localdate() - timedelta(days=20)
    settings_form.get_by_label("上线日期", exact=True).fill(fix_date.isoformat())
    settings_form.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("project-status")).to_have_text("进行中")

    action_form = page.get_by_role("form", name="添加行动")
    action_form.get_by_label("行动", exact=True).fill("高峰时段增开两个窗口")
    action_form.get_by_role("button", name="添加行动").click()
    expect(page.get_by_test_id("project-actions")).to_contain_text("高峰时段增开两个窗口")
    expect(page.get_by_test_id("project-tickets")).to_contain_text("浦东支行")

    page.get_by_role("link", name="查看复盘").click()
    verdict = page.get_by_test_id("review-verdict")
    expect(verdict).to_contain_text("NPS 从 -42 升至 58")
    expect(verdict).to_contain_text("变化是真实的")
    expect(page.locator("[data-plotly] .main-svg").first).to_be_visible()
    assert_accessible(page)
