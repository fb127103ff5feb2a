"""In Chromium: an agent on a phone is told of a complaint given to them, opens it from the
notification and works it through to the customer's recovery (logs a call, records a gift
after a refused cost, resolves, closes with the follow-up survey), and a manager reads the
ticket analytics; every page state passes axe-core."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from playwright.sync_api import expect

from alerts import recovery
from alerts.models import Ticket, TicketContact, TicketRecovery
from alerts.services import ticket_reassign
from customers.models import ContactPolicy
from customers.services import customer_upsert
from organizations.tenancy import tenant_context
from surveys import distribution
from surveys.models import Invitation
from tests.browser_pages import log_in
from tests.helpers import BAD_ANSWERS, submit_and_score
from tests.test_browser_accessibility import Walk

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_agent_recovers_a_customer_on_a_phone_and_a_manager_reads_the_figures(
    live_server, open_page, world, monkeypatch
):
    # The test sees the invitation planned; no Celery worker is asked to send it.
    monkeypatch.setattr(distribution, "invitation_enqueue", lambda *, invitation_id: None)
    owner = get_user_model().objects.get(username=f"{world.tenant.slug}-owner")
    with tenant_context(world.tenant):
        ContactPolicy.objects.create(
            quiet_hours_start=0, quiet_hours_end=0, min_days_between_invitations=0
        )
        recovery.follow_up_settings_update(
            tenant=world.tenant, survey=world.survey, channel="sms", by=owner
        )
        customer_upsert(external_id="C-88", name="李女士", mobile="13900000000")
    response = submit_and_score(world, BAD_ANSWERS, external_customer_id="C-88")
    with tenant_context(world.tenant):
        ticket = Ticket.objects.get(response=response)
        ticket_reassign(ticket=ticket, to=world.agent, reason="请今天回电", by=world.manager)
    page_url = live_server.url + reverse("ticket_detail", args=[world.tenant.slug, ticket.number])
    walk = Walk(live_server.url)

    # The agent is told: the queue fits the phone, and the notification opens the ticket.
    agent = open_page(phone=True)
    log_in(agent, live_server.url, world.agent.username)
    agent.goto(live_server.url + reverse("ticket_queue", args=[world.tenant.slug]))
    expect(agent.locator(f'tr[data-ticket="{ticket.number}"]')).to_be_visible()
    assert agent.evaluate("document.documentElement.scrollWidth") <= 390
    walk.check(agent, "ticket queue on a phone")
    agent.goto(live_server.url + reverse("notification_centre", args=[world.tenant.slug]))
    agent.get_by_role("button", name=f"工单 #{ticket.number}").click()
    agent.wait_for_url(page_url)
    contact = agent.get_by_test_id("contact")
    contact.get_by_label("联系方式").select_option("call")
    contact.get_by_label("联系结果").select_option("accepted")
    contact.get_by_label("说明").fill("致电致歉，客户接受")
    contact.get_by_role("button", name="记录联系").click()
    expect(agent.get_by_text("已记录客户联系。")).to_be_visible()
    expect(agent.get_by_text("电话：客户接受处理方案")).to_be_visible()

    gift = agent.get_by_test_id("recovery")
    gift.get_by_label("补救措施").select_option("gift")
    gift.get_by_label("成本（元）").fill("-30")
    gift.get_by_role("button", name="记录补救").click()
    expect(agent.get_by_text("补救成本应为 0 到")).to_be_visible()
    walk.check(agent, "ticket with a refused cost on a phone")
    gift = agent.get_by_test_id("recovery")
    gift.get_by_label("成本（元）").fill("30")
    gift.get_by_role("button", name="记录补救").click()
    expect(agent.get_by_text("礼品，成本 ¥30.00")).to_be_visible()

    expect(agent.get_by_test_id("ticket-status")).to_have_text("处理中")  # given to the agent
    agent.get_by_label("根本原因").select_option(label=world.root_cause.name)
    agent.get_by_role("button", name="解决", exact=True).click()
    expect(agent.get_by_test_id("ticket-status")).to_have_text("已解决")
    agent.get_by_label("关闭时向客户发送回访问卷").check()
    agent.get_by_role("button", name="关闭", exact=True).click()
    expect(agent.get_by_test_id("ticket-status")).to_have_text("已关闭")
    expect(agent.get_by_text("将通过短信发送给客户")).to_be_visible()
    walk.check(agent, "closed ticket with its recovery on a phone")
    with tenant_context(world.tenant):
        assert TicketContact.objects.count() == 1
        assert list(TicketRecovery.objects.values_list("cost", flat=True)) == [30]
        assert Invitation.objects.get().customer.external_id == "C-88"

    manager = open_page()
    log_in(manager, live_server.url, world.manager.username)
    manager.goto(live_server.url + reverse("ticket_queue", args=[world.tenant.slug]))
    manager.get_by_test_id("analytics-link").click()
    expect(manager.get_by_role("heading", name="工单分析")).to_be_visible()
    expect(manager.get_by_test_id("analytics-total")).to_contain_text("1")
    expect(manager.get_by_test_id("top-root-causes")).to_contain_text(world.root_cause.name)
    walk.check(manager, "ticket analytics")
    walk.assert_clean()
