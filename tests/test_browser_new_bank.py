"""A new bank from an empty database to its first ticket, in Chromium, as its people would:
sign up, import 50 branches from an .xlsx file, invite an agent who accepts and sets a
password, model a journey of 3 stages and 5 touchpoints from a template, set a target, build
and publish a survey at one touchpoint, answer it badly on a phone, see the ticket as the
invited agent, and see that touchpoint's journey-map cell change."""

from __future__ import annotations

import re
from io import BytesIO
from urllib.parse import urlsplit

import pytest
from openpyxl import Workbook
from playwright.sync_api import expect

from analytics.models import ResponseScore
from organizations.models import OrgUnit, Tenant
from organizations.tenancy import system_context, tenant_context
from surveys.models import Link, Survey
from tests.browser_pages import assert_accessible, screenshot
from tests.conftest import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLUG = "jinan-bank"
OWNER = "owner@jinan-bank.example"
AGENT = "agent@jinan-bank.example"
PASSWORD = "Jinan-Bank-2026!"
COUNTER = "bank-daily-counter"  # the template's counter touchpoint, answered at branch J-007


def branches_xlsx() -> bytes:
    """50 branches under 5 regions under the head office that sign-up made (code HQ)."""
    book = Workbook()
    sheet = book.active
    sheet.append(["code", "name", "kind", "parent_code"])
    for region in range(5):
        sheet.append([f"R-{region}", f"第{region + 1}区域", "region", "HQ"])
    for branch in range(50):
        sheet.append([f"J-{branch:03d}", f"济南第{branch + 1}支行", "branch", f"R-{branch % 5}"])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_new_bank_goes_from_sign_up_to_its_first_ticket(
    live_server, open_page, settings, scoring_worker
):
    settings.CEM_SIGNUP_OPEN = True
    base = live_server.url
    owner = open_page()

    # Sign-up: the organisation and its owner, landing on the first-run checklist.
    owner.goto(f"{base}/signup/")
    owner.get_by_label("组织名称").fill("济南银行")
    owner.get_by_label("网址标识").fill(SLUG)
    owner.get_by_label("您的姓名").fill("王行长")
    owner.get_by_label("邮箱（登录用户名）").fill(OWNER)
    owner.get_by_label("密码", exact=True).fill(PASSWORD)
    owner.get_by_label("再次输入密码").fill(PASSWORD)
    owner.get_by_role("button", name="创建组织").click()
    expect(owner.locator("li[data-step=org_units]")).to_have_attribute("data-done", "false")
    assert_accessible(owner)

    # 50 branches from an .xlsx file, imported as a background job.
    owner.goto(f"{base}/t/{SLUG}/settings/org-units/import/")
    owner.get_by_label("文件").set_input_files(
        files=[
            {
                "name": "branches.xlsx",
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": branches_xlsx(),
            }
        ]
    )
    owner.get_by_role("button", name="导入").click()
    job = owner.get_by_test_id("import-job")
    expect(job).to_have_attribute("data-status", "done")
    expect(job).to_contain_text("新建 55 个单位")
    with system_context():
        tenant = Tenant.objects.get(slug=SLUG)
    with tenant_context(tenant):
        branch = OrgUnit.objects.get(code="J-007")

    # An agent of branch J-007, invited by email, sets a password and lands in the tenant.
    owner.goto(f"{base}/t/{SLUG}/settings/members/")
    owner.get_by_label("邮箱").fill(AGENT)
    owner.get_by_label("角色").select_option("agent")
    owner.get_by_label("数据范围").select_option(str(branch.pk))
    owner.get_by_role("button", name="发送邀请").click()
    link = owner.get_by_test_id("invitation-link").inner_text()
    agent = open_page()
    agent.goto(base + urlsplit(link).path)
    agent.get_by_label("姓名").fill("李坐席")
    agent.get_by_label("密码", exact=True).fill(PASSWORD)
    agent.get_by_label("再次输入密码").fill(PASSWORD)
    agent.get_by_role("button", name="设置密码并加入").click()
    expect(agent.get_by_role("heading", name="工单工作台")).to_be_visible()

    # A journey of 3 stages and 5 touchpoints from the bank's daily-service template; the
    # counter touchpoint belongs to branch J-007.
    owner.goto(f"{base}/t/{SLUG}/journeys/new/")
    owner.get_by_label("银行：日常服务").check()
    owner.get_by_role("button", name="用模板创建").click()
    expect(owner.get_by_role("heading", name="编辑旅程：日常服务")).to_be_visible()
    owner.get_by_role("button", name="移除触点 理财经理服务").click()
    expect(owner.locator("tr[data-touchpoint]")).to_have_count(5)
    expect(owner.locator("ol.journey-stages > li")).to_have_count(3)
    counter = owner.locator(f"tr[data-touchpoint={COUNTER}]")
    counter.get_by_label("负责单位").select_option("J-007")
    counter.get_by_role("button", name="保存").click()
    expect(owner.get_by_role("status")).to_contain_text("已保存")

    # Its target: NPS of at least 40 at the counter.
    owner.goto(f"{base}/t/{SLUG}/journeys/")
    owner.get_by_role("link", name="日常服务 的指标与目标").click()
    card = owner.locator(f"article[data-touchpoint={COUNTER}]")
    card.get_by_label("指标").select_option("nps")
    card.get_by_label("目标值").fill("40")
    card.get_by_label("权重").fill("1")
    card.get_by_role("button", name="添加指标").click()
    expect(owner.get_by_role("status")).to_contain_text("已保存「柜台业务」的指标")
    owner.goto(f"{base}/t/{SLUG}/journeys/")
    owner.get_by_role("link", name="查看 日常服务 的旅程地图").click()
    cell = owner.locator(f"a.map-cell[data-touchpoint={COUNTER}]")
    expect(cell).to_contain_text("n=0")
    map_url = owner.url

    # A survey at the counter, from the transaction NPS template, published.
    owner.goto(f"{base}/t/{SLUG}/surveys/")
    create = owner.get_by_role("form", name="新建问卷")
    create.get_by_label("问卷名称").fill("柜台交易回访")
    create.get_by_label("绑定触点").select_option(label="日常服务 / 网点服务 / 柜台业务")
    create.get_by_label("从模板创建").select_option(label="交易后 NPS")
    create.get_by_role("button", name="创建").click()
    owner.get_by_role("button", name="发布问卷").click()
    expect(owner.get_by_role("status")).to_contain_text("已发布第 1 版")
    with tenant_context(tenant):
        token = Link.objects.get(survey=Survey.objects.get(name="柜台交易回访")).token

    # A customer answers it badly on a phone.
    customer = open_page(phone=True)
    customer.goto(f"{base}/s/{token}/")
    customer.get_by_role("radio", name="1", exact=True).check()
    customer.get_by_role("button", name="下一页").click()
    customer.get_by_role("textbox").first.fill("柜员态度很差，排队一个多小时，再这样我就销户")
    customer.get_by_role("button", name=re.compile("提交")).click()
    expect(customer.get_by_role("heading", level=1)).to_be_visible()
    assert customer.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(customer, "new-bank-respondent-phone.png")
    with tenant_context(tenant):
        wait_until(lambda: ResponseScore.objects.exists(), timeout=60)

    # The invited agent sees the ticket in the branch's queue.
    agent.goto(f"{base}/t/{SLUG}/tickets/")
    expect(agent.locator("body")).to_contain_text("柜台业务")
    expect(agent.get_by_role("link", name=re.compile(r"#1\b")).first).to_be_visible()
    screenshot(agent, "new-bank-agent-queue.png")

    # The counter's cell on the journey map now counts the answer.
    owner.goto(map_url)
    expect(owner.locator(f"a.map-cell[data-touchpoint={COUNTER}]")).to_contain_text("n=1")
    screenshot(owner, "new-bank-journey-map.png")

    # The first-run checklist has followed it all.
    owner.goto(f"{base}/t/{SLUG}/start/")
    for done in ("org_units", "members", "journey", "survey"):
        expect(owner.locator(f"li[data-step={done}]")).to_have_attribute("data-done", "true")
