"""Every page a person uses meets WCAG 2.1 AA as far as axe-core can tell, in Chromium, at the
size it is used at (the respondent's pages and the agent's workbench on a phone too)."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from alerts.models import Ticket
from alerts.services import ticket_reassign
from customers.services import customer_upsert, unsubscribe_token
from improvements.models import Level
from improvements.services import action_add, project_create
from organizations.business_hours import tenant_calendar, working_time_add
from organizations.models import OrgUnitImport, Role
from organizations.services import membership_create
from organizations.tenancy import tenant_context
from surveys.services import survey_close
from tests.browser_pages import (
    assert_accessible,
    axe_violations,
    describe_violations,
    log_in,
    question,
)
from tests.factories import member
from tests.helpers import BAD_ANSWERS, submit_and_score

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_check_fails_on_an_unlabeled_input(open_page):
    page = open_page()
    page.goto("about:blank")
    page.set_content(
        '<!doctype html><html lang="zh-CN"><head><title>t</title></head>'
        '<body><main><h1>表单</h1><input type="text" name="unlabeled"></main></body></html>'
    )
    with pytest.raises(AssertionError, match=r"label \(critical\).*input"):
        assert_accessible(page)
    assert_accessible(page, exclude=("input",))


def sla_states_show(world) -> None:
    """Two more tickets, so the queue shows each SLA state: one breached a month ago, one near
    breach (60 working minutes left of 1000), whatever the hour the test runs at."""
    calendar = tenant_calendar(world.tenant)
    now = timezone.now()
    late, near = (submit_and_score(world, BAD_ANSWERS) for _ in range(2))
    with tenant_context(world.tenant):
        Ticket.objects.filter(response=late).update(first_response_due_at=now - timedelta(days=30))
        Ticket.objects.filter(response=near).update(
            first_response_due_at=working_time_add(calendar, now, 60), first_response_minutes=1000
        )


class Walk:
    """Opens pages and gathers axe-core's findings on each, so one run names every failing page."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.findings: dict[str, str] = {}

    def check(self, page: Page, name: str) -> None:
        violations = axe_violations(page)
        if violations:
            self.findings[f"{name} ({page.url})"] = describe_violations(violations)

    def visit(self, page: Page, name: str, path: str, *, status: int = 200) -> None:
        response = page.goto(self.base + path)
        assert response.status == status, (name, response.status)
        self.check(page, name)

    def assert_clean(self) -> None:
        assert not self.findings, "\n".join(f"{k}:\n{v}" for k, v in self.findings.items())


def test_every_page_a_person_uses_passes_axe_core(
    live_server, open_page, world, other_world, monkeypatch, settings
):
    slug = world.tenant.slug
    response = submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant):
        ticket = Ticket.objects.get(response=response)
        rule = ticket.rules.get()
        customer = customer_upsert(external_id="c-1", name="张三", mobile="13800000000")
        project = project_create(
            title="缩短排队时间",
            level=Level.PROCESS,
            root_cause=world.root_cause,
            touchpoints=[world.touchpoint],
            org_units=[world.branch],
            by=world.manager,
        )
        action_add(
            project=project,
            description="增开高峰窗口",
            owner=world.agent,
            due_date=None,
            by=world.manager,
        )
        project.fix_date = timezone.localdate() - timedelta(days=10)
        project.save()
    with tenant_context(other_world.tenant):  # two tenants: the manager picks one after login
        membership_create(user=world.manager, role=Role.VIEWER)
    sla_states_show(world)

    def url(name: str, **kwargs) -> str:
        return reverse(name, kwargs={"tenant_slug": slug, **kwargs})

    walk = Walk(live_server.url)

    respondent = open_page(phone=True)
    walk.visit(respondent, "survey", f"/s/{world.link.token}/")
    question(respondent, "推荐").get_by_role("radio", name="9", exact=True).check()
    question(respondent, "满意").get_by_role("radio", name="5", exact=True).check()
    respondent.get_by_role("button", name="提交").click()
    respondent.wait_for_url(re.compile(r"/thanks/$"))
    walk.check(respondent, "thank-you")
    walk.visit(open_page(phone=True), "unsubscribe", f"/u/{unsubscribe_token(customer)}/")

    manager = open_page()
    walk.visit(manager, "login", "/accounts/login/")
    log_in(manager, live_server.url, world.manager.username)
    walk.visit(manager, "tenant picker", "/")
    survey = {"survey_id": world.survey.pk}
    for name, path in [
        ("dashboard", url("dashboard")),
        ("key drivers", url("key_drivers")),
        ("report schedules", url("report_schedules")),
        ("new report schedule", url("report_schedule_create") + "?days=30&channel=branch_counter"),
        ("journeys", url("journey_map")),
        ("new journey", url("journey_new")),
        ("journey editor", url("journey_edit", journey_id=world.journey.pk)),
        ("journey map", url("journey_detail", journey_id=world.journey.pk)),
        ("journey metrics", url("journey_metrics", journey_id=world.journey.pk)),
        (
            "journey cell responses",
            url(
                "journey_cell_responses",
                journey_id=world.journey.pk,
                touchpoint_id=world.touchpoint.pk,
            ),
        ),
        ("surveys", url("survey_index")),
        ("survey builder", url("survey_builder", **survey)),
        ("preview", url("survey_preview", **survey)),
        ("distribution", url("distribution_dashboard")),
        ("survey distribution", url("survey_distribution", **survey)),
        ("ticket queue", url("ticket_queue")),
        ("ticket detail", url("ticket_detail", number=ticket.number)),
        ("ticket analytics", url("ticket_analytics")),
        ("alert rules", url("alert_rules")),
        ("new alert rule", url("alert_rule_new")),
        ("alert rule editor", url("alert_rule_edit", rule_id=rule.pk)),
        ("text analytics", url("text_analytics")),
        ("dictionary", url("text_dictionary")),
        ("text analytics of external voices", url("text_analytics") + "?source=external"),
        ("external voices upload", url("external_posts")),
        ("response detail", url("response_detail", response_id=response.pk)),
        ("root causes", url("root_causes")),
        ("root cause editor", url("root_cause_edit", cause_id=world.root_cause.pk)),
        ("improvement projects", url("improvement_projects")),
        ("new improvement project", url("improvement_project_new")),
        ("improvement project", url("improvement_project", project_id=project.pk)),
        ("improvement review", url("improvement_review", project_id=project.pk)),
    ]:
        walk.visit(manager, name, path)

    agent = open_page(phone=True)
    log_in(agent, live_server.url, world.agent.username)
    walk.visit(agent, "ticket queue on a phone", url("ticket_queue"))
    walk.visit(agent, "ticket detail on a phone", url("ticket_detail", number=ticket.number))

    owner = open_page()
    log_in(owner, live_server.url, f"{slug}-owner")
    walk.visit(owner, "API keys", url("api_keys"))
    owner.get_by_label("名称").fill("数据仓库同步")
    owner.get_by_role("button", name="创建密钥").click()
    expect(owner.get_by_test_id("new-api-key")).to_be_visible()
    walk.check(owner, "API keys with a new key")
    walk.visit(owner, "theme", url("tenant_theme"))
    walk.visit(owner, "working calendar and SLA", url("sla_settings"))
    owner.get_by_label("周三").fill("9点到6点")
    owner.get_by_role("button", name="保存").click()
    expect(owner.get_by_text("无法识别的工作时间「9点到6点」")).to_be_visible()
    walk.check(owner, "working calendar with a mistake")
    walk.visit(owner, "follow-up survey", url("follow_up_settings"))
    walk.visit(owner, "members", url("members"))
    owner.get_by_label("邮箱").fill("axe@example.com")
    owner.get_by_role("button", name="发送邀请").click()
    invitation_link = owner.get_by_test_id("invitation-link").inner_text()
    walk.check(owner, "members with a new invitation")
    agent_membership = member(world.agent, world.tenant)
    walk.visit(owner, "member editor", url("member_edit", membership_id=agent_membership.pk))
    walk.visit(owner, "first-run checklist", url("onboarding"))
    walk.visit(owner, "password change", reverse("password_change"))

    invitee = open_page(phone=True)
    walk.visit(invitee, "invitation", urlsplit(invitation_link).path)
    walk.visit(invitee, "password reset", reverse("password_reset"))
    settings.CEM_SIGNUP_OPEN = True
    walk.visit(invitee, "sign-up", reverse("signup"))
    with tenant_context(world.tenant):
        rejected, running = (
            OrgUnitImport.objects.create(
                file_name="tree.xlsx",
                status=status,
                rows_total=3000,
                rows_checked=checked,
                problems=problems,
                created_by=world.manager,
            )
            for status, checked, problems in [
                ("rejected", 3000, [{"line": 3, "column": "kind", "reason": "类型无效"}]),
                ("checking", 1500, []),
            ]
        )
    # The running import's page reads itself again every few seconds; not while axe reads it.
    monkeypatch.setattr("organizations.org_unit_views.JOB_REFRESH_SECONDS", 600)
    for name, path in [
        ("org units", url("org_units")),
        ("org unit editor", url("org_unit_edit", unit_id=world.branch.pk)),
        ("org unit import", url("org_unit_import")),
        ("rejected import", url("org_unit_import_job", job_id=rejected.pk)),
        ("running import", url("org_unit_import_job", job_id=running.pk)),
    ]:
        walk.visit(owner, name, path)

    with tenant_context(world.tenant):
        survey_close(survey=world.survey, by=world.manager)
    walk.visit(open_page(phone=True), "closed survey", f"/s/{world.link.token}/", status=410)

    walk.assert_clean()


def test_an_agent_opens_a_ticket_from_the_notification_centre_on_a_phone(
    live_server, open_page, world
):
    response = submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant):
        ticket = Ticket.objects.get(response=response)
        ticket_reassign(ticket=ticket, to=world.agent, reason="就近处理", by=world.manager)

    agent = open_page(phone=True)
    log_in(agent, live_server.url, world.agent.username)
    header_link = agent.get_by_role("link", name=re.compile(r"通知\s*1 条未读"))
    expect(header_link).to_be_visible()
    header_link.click()
    expect(agent.get_by_role("heading", name="通知中心")).to_be_visible()
    walk = Walk(live_server.url)
    walk.check(agent, "notification centre on a phone")
    agent.get_by_role("button", name=f"工单 #{ticket.number}").click()
    agent.wait_for_url(re.compile(rf"/tickets/{ticket.number}/$"))
    expect(agent.get_by_role("link", name="通知", exact=True)).to_be_visible()  # none unread
    agent.goto(live_server.url + reverse("notification_centre", args=[world.tenant.slug]))
    expect(agent.get_by_text("未读", exact=True)).to_have_count(0)
    walk.check(agent, "notification centre, all read")
    agent.get_by_role("link", name="我的通知设置").click()
    agent.get_by_label("短信", exact=True).check()
    agent.get_by_label("免打扰开始").fill("22:00")
    agent.get_by_role("button", name="保存").click()
    expect(agent.get_by_text("免打扰时段需同时填写开始和结束时间。")).to_be_visible()
    walk.check(agent, "notification preferences with a mistake")

    owner = open_page()
    log_in(owner, live_server.url, f"{world.tenant.slug}-owner")
    owner.goto(live_server.url + reverse("group_robots", args=[world.tenant.slug]))
    owner.get_by_label("Webhook 地址").fill("http://oapi.dingtalk.com/robot/send")
    owner.get_by_role("button", name="添加").click()
    expect(owner.get_by_text("Webhook 地址必须以 https:// 开头。")).to_be_visible()
    walk.check(owner, "group robots with a refused webhook")
    walk.assert_clean()
