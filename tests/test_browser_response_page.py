"""The response page in the system Chromium: a CX manager follows a verbatim from the dashboard
to the whole response and on to its ticket; an agent of another branch cannot open it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from organizations.tenancy import tenant_context
from tests.browser_pages import assert_accessible, log_in, screenshot
from tests.helpers import submit_and_score

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMPLAINT = "排队等了一个多小时，柜员态度也很差，再不改进我就投诉到银保监会"


def test_manager_follows_a_verbatim_to_the_response_and_its_ticket(live_server, open_page, world):
    response = submit_and_score(world, {"nps_1": 1, "csat_1": 1, "text_1": COMPLAINT})
    with tenant_context(world.tenant):
        ticket = response.tickets.get()
    base = live_server.url
    manager = open_page(viewport={"width": 1280, "height": 900})
    log_in(manager, base, world.manager.username)

    manager.goto(f"{base}/t/{world.tenant.slug}/dashboard/")
    manager.get_by_role("link", name=re.compile("排队等了一个多小时")).click()
    manager.wait_for_url(f"{base}/t/{world.tenant.slug}/responses/{response.pk}/")
    expect(manager.get_by_role("heading", name=re.compile(f"回答 #{response.pk}"))).to_be_visible()
    expect(manager.get_by_test_id("response-answers")).to_contain_text(COMPLAINT)
    expect(manager.get_by_test_id("response-facts")).to_contain_text("浦东支行")
    score = manager.get_by_test_id("response-score")
    expect(score).to_contain_text("负面")
    expect(score.get_by_test_id("risk-flags")).to_contain_text("银保监会")
    expect(score).to_contain_text("等待时间")
    screenshot(manager, "response-detail.png")
    assert_accessible(manager)

    manager.get_by_test_id("response-tickets").get_by_role("link").click()
    manager.wait_for_url(f"{base}/t/{world.tenant.slug}/tickets/{ticket.number}/")
    expect(manager.get_by_test_id("ticket-status")).to_be_visible()


def test_an_agent_of_another_branch_gets_not_found(live_server, open_page, world):
    response = submit_and_score(world, {"nps_1": 1, "csat_1": 1, "text_1": COMPLAINT})
    agent = open_page()
    log_in(agent, live_server.url, world.other_agent.username)
    reply = agent.goto(f"{live_server.url}/t/{world.tenant.slug}/responses/{response.pk}/")
    assert reply.status == 404
