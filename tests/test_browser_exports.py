"""Exports in Chromium: a CX manager exports the dashboard as it is filtered, watches the
export's progress on "我的导出" (the page refreshes itself) and downloads the file."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from tests.browser_pages import assert_accessible, log_in
from tests.test_exports import answered

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("midday"),
]


def test_a_manager_exports_the_filtered_dashboard_and_downloads_it(
    live_server, open_page, world, celery_worker_process
):
    answered(world, nps=9, text="办理很快", org_unit=world.branch)
    answered(world, nps=2, text="=1+1", org_unit=world.other_branch)
    page, base = open_page(), live_server.url
    log_in(page, base, world.manager.username)
    page.goto(f"{base}/t/{world.tenant.slug}/dashboard/?days=30&unit={world.other_branch.pk}")
    page.get_by_label("导出格式").select_option("csv")
    page.get_by_role("button", name="导出", exact=True).click()
    page.wait_for_url(re.compile(r"/exports/$"))
    download_link = page.get_by_role("link", name="下载")
    expect(download_link).to_be_visible(timeout=60_000)
    assert_accessible(page)
    with page.expect_download() as waiting:
        download_link.click()
    content = waiting.value.path().read_bytes()
    _header, *rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert len(rows) == 1 and rows[0][6] == world.other_branch.name
    assert "'=1+1" in rows[0]
