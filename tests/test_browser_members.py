"""Members in Chromium: the owner invites an agent to a branch, the agent opens the link in a
browser of their own, sets a name and password, and lands in the tenant's workbench."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from organizations.models import Role
from tests.browser_pages import log_in, screenshot
from tests.factories import member

User = get_user_model()
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_owner_invites_an_agent_who_sets_a_password_and_lands_in_the_tenant(
    live_server, open_page, world
):
    base = live_server.url
    owner = open_page()
    log_in(owner, base, f"{world.tenant.slug}-owner")
    owner.get_by_role("link", name="成员", exact=True).click()
    owner.get_by_label("邮箱").fill("zhao.agent@example.com")
    owner.get_by_label("角色").select_option(Role.AGENT)
    owner.get_by_label("数据范围").select_option(str(world.branch.pk))
    owner.get_by_role("button", name="发送邀请").click()
    expect(owner.get_by_role("status").first).to_contain_text(
        "已向 zhao.agent@example.com 发出邀请"
    )
    link = owner.get_by_test_id("invitation-link").inner_text()
    expect(owner.locator("tr[data-invitation='zhao.agent@example.com']")).to_contain_text(
        "浦东支行"
    )

    invitee = open_page(phone=True)
    invitee.goto(base + urlsplit(link).path)
    expect(invitee.get_by_role("heading", name=f"加入 {world.tenant.name}")).to_be_visible()
    invitee.get_by_label("姓名").fill("赵六")
    invitee.get_by_label("密码", exact=True).fill("Zhao-pass-2026")
    invitee.get_by_label("再次输入密码").fill("Zhao-pass-2026")
    invitee.get_by_role("button", name="设置密码并加入").click()
    expect(invitee.get_by_role("heading", name="工单工作台")).to_be_visible()
    expect(invitee.get_by_role("status")).to_contain_text(f"欢迎加入 {world.tenant.name}")
    expect(invitee.locator("header")).to_contain_text("赵六")
    screenshot(invitee, "member-invited-agent-phone.png")

    joined = member(User.objects.get(username="zhao.agent@example.com"), world.tenant)
    assert (joined.role, joined.org_unit_id) == (Role.AGENT, world.branch.pk)

    owner.reload()
    expect(owner.locator("tr[data-member='zhao.agent@example.com']")).to_contain_text("一线坐席")
    expect(owner.locator("tr[data-invitation='zhao.agent@example.com']")).to_have_count(0)
