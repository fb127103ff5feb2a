"""The org-unit tree in Chromium: an owner adds a branch, moves it, and imports branches from an
.xlsx file, following the import job to its result (polled by the page, or by its reload link
without JavaScript)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from organizations.models import OrgUnitImport
from organizations.tenancy import tenant_context
from tests.browser_pages import log_in, screenshot
from tests.test_org_unit_import import xlsx_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_an_owner_adds_moves_and_imports_units(live_server, open_page, world, eager_tasks):
    base = live_server.url
    page = open_page()
    log_in(page, base, f"{world.tenant.slug}-owner")
    page.goto(f"{base}/t/{world.tenant.slug}/")
    page.get_by_role("link", name="组织架构").click()
    expect(page.get_by_role("heading", name="组织架构", exact=True)).to_be_visible()

    page.get_by_label("名称").fill("陆家嘴支行")
    page.get_by_label("编码", exact=True).fill("SH-LJZ")
    page.get_by_label("类型").select_option("branch")
    page.get_by_label("上级单位").select_option(label="— 华东区 (EAST)")
    page.get_by_role("button", name="添加", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("已添加单位「陆家嘴支行」")
    row = page.locator("tr[data-unit=SH-LJZ]")
    expect(row).to_contain_text("网点/门店")

    row.get_by_role("link", name="编辑 陆家嘴支行").click()
    page.get_by_label("新的上级单位").select_option(label="— — 浦东支行 (SH-PD)")
    page.get_by_role("button", name="移动", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("已保存")
    expect(page.get_by_label("新的上级单位")).to_have_value(str(world.branch.pk))

    page.goto(f"{base}/t/{world.tenant.slug}/settings/org-units/")
    page.get_by_role("link", name="从 CSV / Excel 批量导入").click()
    rows = [["code", "name", "kind", "parent_code"]]
    rows += [[f"GD-{n:02d}", f"广东第{n}支行", "branch", "SOUTH"] for n in range(50)]
    rows.append(["SOUTH", "华南区", "region", "HQ"])  # a parent defined after its branches
    page.get_by_label("文件").set_input_files(
        {"name": "branches.xlsx", "mimeType": XLSX, "buffer": xlsx_bytes(rows)}
    )
    page.get_by_role("button", name="导入").click()
    job = page.get_by_test_id("import-job")
    expect(job).to_have_attribute("data-status", "done")
    expect(job).to_contain_text("新建 51 个单位")
    screenshot(page, "org-unit-import-done.png")
    page.get_by_role("link", name="查看组织架构").click()
    expect(page.locator("tr[data-unit^=GD-]")).to_have_count(50)
    expect(page.locator("tr[data-unit=SOUTH]")).to_contain_text("华南区")


def test_a_bad_file_shows_each_problem_and_writes_nothing(
    live_server, open_page, world, eager_tasks
):
    base = live_server.url
    page = open_page()
    log_in(page, base, f"{world.tenant.slug}-owner")
    page.goto(f"{base}/t/{world.tenant.slug}/settings/org-units/import/")
    rows = [["code", "name", "kind", "parent_code"], ["X1", "甲", "branch", "HQ"]]
    rows.append(["X2", "乙", "planet", "NOWHERE"])
    page.get_by_label("文件").set_input_files(
        {"name": "bad.xlsx", "mimeType": XLSX, "buffer": xlsx_bytes(rows)}
    )
    page.get_by_role("button", name="导入").click()
    problems = page.get_by_test_id("import-problems").locator("tbody tr")
    expect(problems).to_have_count(2)
    expect(problems.nth(0)).to_contain_text("kind")
    expect(problems.nth(1)).to_contain_text("NOWHERE")
    page.goto(f"{base}/t/{world.tenant.slug}/settings/org-units/")
    expect(page.locator("tr[data-unit=X1]")).to_have_count(0)


@pytest.mark.parametrize("javascript", [True, False], ids=["polling", "no-javascript"])
def test_a_running_import_page_follows_the_job_to_its_end(
    live_server, open_page, world, javascript
):
    with tenant_context(world.tenant):
        job = OrgUnitImport.objects.create(
            file_name="big.xlsx", status="checking", rows_total=4000, rows_checked=1000
        )
    page = open_page(java_script_enabled=javascript)
    log_in(page, live_server.url, f"{world.tenant.slug}-owner")
    page.goto(f"{live_server.url}/t/{world.tenant.slug}/settings/org-units/import/{job.pk}/")
    expect(page.get_by_label("已校验 1000 / 4000 行")).to_have_attribute("value", "1000")
    with tenant_context(world.tenant):
        OrgUnitImport.objects.filter(pk=job.pk).update(
            status="done", rows_checked=4000, units_created=4000
        )
    if not javascript:
        page.get_by_role("link", name="刷新查看进度").click()
    expect(page.get_by_test_id("import-job")).to_have_attribute("data-status", "done")
    expect(page.get_by_test_id("import-job")).to_contain_text("新建 4000 个单位")
