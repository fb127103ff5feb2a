"""Reports in Chromium: a CX manager downloads the filtered dashboard as Excel, has a worker print
it as a PDF and downloads that from their exports, then has the same view mailed weekly from
the schedule page, and deletes it again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from analytics.models import ReportSchedule
from organizations.tenancy import tenant_context
from tests.browser_pages import assert_accessible, log_in
from tests.test_exports import answered
from tests.test_reports import pdf_text, titled, xlsx_sheets

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("midday"),
]


def downloaded(page, link_name: str) -> bytes:
    with page.expect_download() as waiting:
        page.get_by_role("link", name=link_name).click()
    return waiting.value.path().read_bytes()


def test_a_manager_downloads_the_reports_and_schedules_the_view(
    live_server, open_page, world, celery_worker_process
):
    answered(world, nps=9, text="办理很快", org_unit=world.branch)
    answered(world, nps=2, text="排队太久", org_unit=world.other_branch)
    page, base = open_page(), live_server.url
    log_in(page, base, world.manager.username)
    page.goto(f"{base}/t/{world.tenant.slug}/dashboard/?days=30&unit={world.region.pk}")

    sheets = xlsx_sheets(downloaded(page, "下载 Excel 报告"))
    assert list(sheets) == ["概览", "排行", "按周趋势"]
    assert len(sheets["排行"]) == 1 + 2 + 1  # the header, two branches, one touchpoint
    page.get_by_role("button", name="生成 PDF 报告").click()
    page.wait_for_url(re.compile(r"/exports/$"))
    expect(page.get_by_test_id("export-job")).to_contain_text("仪表盘报告")
    expect(page.get_by_role("link", name="下载")).to_be_visible(timeout=60_000)
    assert_accessible(page)
    assert titled(world.region.name, pdf_text(downloaded(page, "下载")))

    page.goto(f"{base}/t/{world.tenant.slug}/dashboard/?days=30&unit={world.region.pk}")
    page.get_by_role("link", name="定期发送此视图").click()
    expect(page.get_by_role("heading", name="新建定期报告")).to_be_visible()
    assert_accessible(page)
    recipients = page.locator("#recipient-list label")
    listed = recipients.count()
    assert listed >= 3  # the manager, the owner and the region's viewer
    page.get_by_label("按姓名、角色或单位筛选").fill(world.region.name)  # the viewer's scope
    expect(page.locator("#recipient-list label:visible")).to_have_count(1)
    expect(page.locator("#recipient-count")).to_contain_text(f"显示 1 / {listed} 人，已选 0 人")
    page.locator("#recipient-list label:visible input").check()
    page.get_by_label("按姓名、角色或单位筛选").fill("")
    expect(page.locator("#recipient-list label:visible")).to_have_count(listed)
    expect(page.locator("#recipient-count")).to_contain_text("已选 1 人")
    page.get_by_label("名称").fill("华东区周报")
    page.get_by_label("频率").select_option("weekly")
    page.get_by_label("按单位分别发送").select_option("branch")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(r"/reports/schedules/$"))
    expect(page.get_by_test_id("report-schedule")).to_have_count(1)
    expect(page.get_by_test_id("report-schedule")).to_contain_text("华东区周报")
    assert_accessible(page)
    with tenant_context(world.tenant):
        schedule = ReportSchedule.objects.get()
    assert (schedule.org_unit_id, schedule.per_unit_kind) == (world.region.pk, "branch")

    page.get_by_role("link", name="华东区周报").click()
    page.get_by_label("频率").select_option("monthly")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("report-schedule")).to_contain_text("每月")
    page.get_by_role("button", name="删除").click()
    expect(page.get_by_test_id("report-schedule")).to_have_count(0)
