"""Alert rules in the CX manager's hands: the services check every value a rule tests, log
every change and refuse other roles; the list shows each rule in words with its recent
tickets in a fixed number of queries; the editor keeps what was typed and says per row what is
wrong; a preview tests unsaved conditions; a rule written in the editor opens tickets."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alerts import selectors
from alerts.models import AlertRule, Ticket
from alerts.rules import DEFAULT_CONDITIONS, conditions_describe
from alerts.services import (
    alert_rule_create,
    alert_rule_delete,
    alert_rule_set_active,
    alert_rule_update,
)
from analytics.services import topic_keywords_add
from organizations.models import AuditEvent
from organizations.tenancy import tenant_context
from tests.factories import PASSWORD
from tests.helpers import BAD_ANSWERS, submit_and_score

REGULATOR = {"fact": "risk_flag", "op": "contains", "value": "regulator"}
PROMOTER = {"nps_1": 9, "csat_1": 4}
THREAT = "卡被冻结了，再不解冻就投诉到银保监会"


def no_default_rule(world) -> None:
    with tenant_context(world.tenant):
        AlertRule.objects.update(is_active=False)


def audit_actions(rule: AlertRule) -> list[str]:
    events = AuditEvent.objects.filter(target_type="alerts.alertrule", target_id=str(rule.pk))
    return list(events.order_by("at", "id").values_list("action", flat=True))


def create(world, conditions: dict, *, by=None, name: str = "监管投诉升级") -> AlertRule:
    return alert_rule_create(
        name=name, conditions=conditions, priority="urgent", sla_hours=4, by=by or world.manager
    )


# --- Services --------------------------------------------------------------------------------


def test_manager_creates_a_rule_and_the_audit_log_keeps_what_it_tests(in_tenant):
    rule = create(in_tenant, {"any": [REGULATOR]})
    assert rule.is_active and rule.priority == "urgent" and rule.sla_hours == 4
    event = AuditEvent.objects.get(action="alert_rule.create")
    assert event.actor_user == in_tenant.manager
    assert event.after["conditions"] == {"any": [REGULATOR]}


def test_update_changes_the_rule_and_logs_before_and_after(in_tenant):
    rule = create(in_tenant, {"any": [REGULATOR]})
    changed = {"all": [REGULATOR, {"fact": "nps", "op": "lte", "value": 6}]}
    rule = alert_rule_update(
        rule=rule,
        name="监管投诉且贬损",
        conditions=changed,
        priority="high",
        sla_hours=8,
        by=in_tenant.manager,
    )
    rule.refresh_from_db()
    assert (rule.name, rule.conditions, rule.priority, rule.sla_hours) == (
        "监管投诉且贬损",
        changed,
        "high",
        8,
    )
    event = AuditEvent.objects.get(action="alert_rule.update")
    assert event.before["conditions"] == {"any": [REGULATOR]}
    assert event.after["conditions"] == changed and event.after["sla_hours"] == 8


def test_deactivating_twice_changes_and_logs_once_and_activating_brings_it_back(in_tenant):
    rule = create(in_tenant, {"any": [REGULATOR]})
    alert_rule_set_active(rule=rule, is_active=False, by=in_tenant.manager)
    alert_rule_set_active(rule=rule, is_active=False, by=in_tenant.manager)
    rule.refresh_from_db()
    assert not rule.is_active
    alert_rule_set_active(rule=rule, is_active=True, by=in_tenant.manager)
    assert audit_actions(rule) == [
        "alert_rule.create",
        "alert_rule.deactivate",
        "alert_rule.activate",
    ]


@pytest.mark.parametrize("who", ["agent", "viewer"])
def test_agents_and_viewers_may_not_change_rules(in_tenant, who):
    person = getattr(in_tenant, who)
    rule = AlertRule.objects.get()
    with pytest.raises(PermissionDenied):
        create(in_tenant, {"any": [REGULATOR]}, by=person)
    with pytest.raises(PermissionDenied):
        alert_rule_update(
            rule=rule,
            name="x",
            conditions=DEFAULT_CONDITIONS,
            priority="low",
            sla_hours=1,
            by=person,
        )
    with pytest.raises(PermissionDenied):
        alert_rule_set_active(rule=rule, is_active=False, by=person)
    with pytest.raises(PermissionDenied):
        alert_rule_delete(rule=rule, by=person)
    rule.refresh_from_db()
    assert rule.is_active and rule.name != "x"
    assert not AuditEvent.objects.filter(action__startswith="alert_rule.").exists()


def test_a_member_of_another_tenant_may_not_change_this_tenants_rules(world, other_world):
    with tenant_context(world.tenant), pytest.raises(PermissionDenied):
        create(world, {"any": [REGULATOR]}, by=other_world.manager)


@pytest.mark.parametrize(
    "leaf",
    [
        {"fact": "nps", "op": "lte", "value": 11},
        {"fact": "nps", "op": "lte", "value": 6.5},
        {"fact": "csat", "op": "eq", "value": 0},
        {"fact": "ces", "op": "gte", "value": 8},
        {"fact": "nps", "op": "lte", "value": "6"},
        {"fact": "sentiment_score", "op": "lt", "value": 1.5},
        {"fact": "sentiment", "op": "eq", "value": "angry"},
        {"fact": "nps_category", "op": "in", "value": ["detractor", "hater"]},
        {"fact": "risk_flag", "op": "contains", "value": "alien"},
        {"fact": "risk_flag", "op": "eq", "value": "regulator"},
        {"fact": "touchpoint", "op": "eq", "value": "no-such-touchpoint"},
        {"fact": "org_unit", "op": "eq", "value": "NOWHERE"},
        {"fact": "aspect_negative", "op": "contains", "value": "不存在的方面"},
        {"fact": "topic", "op": "contains", "value": "未定义的主题"},
        {"fact": "nps", "op": "contains", "value": 6},
        {"fact": "mood", "op": "eq", "value": 1},
    ],
)
def test_values_a_fact_never_takes_are_refused(in_tenant, leaf):
    with pytest.raises(ValidationError):
        create(in_tenant, {"any": [leaf]})
    assert AlertRule.objects.count() == 1  # the default rule only


def test_values_of_the_tenant_are_accepted(in_tenant):
    topic_keywords_add(name="信用卡", keywords="信用卡、年费", by=in_tenant.manager)
    conditions = {
        "all": [
            {"fact": "touchpoint", "op": "eq", "value": "counter"},
            {"fact": "org_unit", "op": "in", "value": ["SH-PD", "HZ-XH"]},
            {"fact": "aspect_negative", "op": "contains", "value": "等待时间"},
            {"fact": "topic", "op": "in", "value": ["信用卡"]},
            {"fact": "sentiment_score", "op": "lt", "value": 0.3},
            {"fact": "nps_category", "op": "ne", "value": "promoter"},
        ]
    }
    assert create(in_tenant, conditions).conditions == conditions


def test_a_rule_that_opened_tickets_cannot_be_deleted_and_its_tickets_stay(world):
    submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant):
        rule = AlertRule.objects.get()
        with pytest.raises(ValidationError, match="不能删除"):
            alert_rule_delete(rule=rule, by=world.manager)
        assert list(Ticket.objects.get().rules.all()) == [rule]
        unused = create(world, {"any": [REGULATOR]})
        alert_rule_delete(rule=unused, by=world.manager)
        assert list(AlertRule.objects.all()) == [rule]
        assert AuditEvent.objects.filter(action="alert_rule.delete").count() == 1


def test_conditions_read_as_one_chinese_line(in_tenant):
    conditions = {
        "any": [
            {"fact": "nps", "op": "lte", "value": 6},
            {"fact": "sentiment", "op": "eq", "value": "negative"},
            REGULATOR,
        ]
    }
    labels = selectors.rule_fact_choices()
    assert conditions_describe(conditions, labels) == (
        "NPS ≤ 6 或 情感 = 负面 或 风险信号 包含 监管投诉"
    )
    nested = {
        "all": [
            {"fact": "touchpoint", "op": "in", "value": ["counter"]},
            {"any": [{"fact": "csat", "op": "lt", "value": 3}, REGULATOR]},
        ]
    }
    assert conditions_describe(nested, labels) == (
        f"触点 属于 {in_tenant.journey.name} / 网点柜台 且 （CSAT < 3 或 风险信号 包含 监管投诉）"
    )


# --- Pages -----------------------------------------------------------------------------------


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def url(name, world, **kwargs):
    return reverse(name, kwargs={"tenant_slug": world.tenant.slug, **kwargs})


def rule_post(rows: list[dict], *, action: str = "save", **fields) -> dict:
    """The editor's form as a browser posts it: settings, then one prefixed group per row."""
    data = {
        "name": "监管投诉升级",
        "match": "any",
        "priority": "urgent",
        "sla_hours": "4",
        "action": action,
        "c-TOTAL_FORMS": str(len(rows)),
        "c-INITIAL_FORMS": "0",
        "c-MIN_NUM_FORMS": "0",
        "c-MAX_NUM_FORMS": "20",
        **fields,
    }
    for index, row in enumerate(rows):
        data |= {f"c-{index}-{key}": value for key, value in row.items()}
    return data


REGULATOR_ROW = {"fact": "risk_flag", "op": "contains", "choices": ["regulator"]}


@pytest.mark.parametrize("who", ["agent", "viewer"])
def test_agents_and_viewers_read_the_rules_but_get_403_on_the_editor(client, world, who):
    login(client, getattr(world, who))
    page = client.get(url("alert_rules", world))
    assert page.status_code == 200
    text = page.content.decode()
    assert "NPS ≤ 6 或 CSAT ≤ 2 或 情感 = 负面" in text
    assert url("alert_rule_new", world) not in text
    with tenant_context(world.tenant):
        rule_id = AlertRule.objects.get().pk
    assert client.get(url("alert_rule_new", world)).status_code == 403
    assert client.post(url("alert_rule_new", world), rule_post([REGULATOR_ROW])).status_code == 403
    assert client.get(url("alert_rule_edit", world, rule_id=rule_id)).status_code == 403
    active = url("alert_rule_active", world, rule_id=rule_id)
    assert client.post(active, {"active": "0"}).status_code == 403
    assert client.post(url("alert_rule_delete", world, rule_id=rule_id)).status_code == 403
    with tenant_context(world.tenant):
        assert AlertRule.objects.filter(is_active=True).count() == 1


def test_the_ticket_queue_and_the_navigation_link_to_the_rules(client, world):
    login(client, world.agent)
    page = client.get(url("ticket_queue", world)).content.decode()
    assert page.count(f'href="{url("alert_rules", world)}"') == 2


def test_manager_creates_a_rule_in_the_editor_and_sees_it_in_the_list(client, world):
    login(client, world.manager)
    assert client.get(url("alert_rule_new", world)).status_code == 200
    nps_row = {"fact": "nps", "op": "lte", "value": "6"}
    reply = client.post(url("alert_rule_new", world), rule_post([REGULATOR_ROW, nps_row]))
    assert reply.status_code == 302 and reply["Location"] == url("alert_rules", world)
    with tenant_context(world.tenant):
        rule = AlertRule.objects.get(name="监管投诉升级")
        assert rule.conditions == {"any": [REGULATOR, {"fact": "nps", "op": "lte", "value": 6}]}
        assert audit_actions(rule) == ["alert_rule.create"]
    listed = client.get(url("alert_rules", world)).content.decode()
    assert "风险信号 包含 监管投诉 或 NPS ≤ 6" in listed


def test_labels_may_be_typed_by_name_several_for_in(client, world):
    login(client, world.manager)
    row = {"fact": "risk_flag", "op": "in", "value": "监管投诉、媒体曝光, legal"}
    assert client.post(url("alert_rule_new", world), rule_post([row])).status_code == 302
    with tenant_context(world.tenant):
        leaf = AlertRule.objects.get(name="监管投诉升级").conditions["any"][0]
    assert leaf == {"fact": "risk_flag", "op": "in", "value": ["regulator", "media", "legal"]}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"fact": "nps", "op": "lte", "value": "11"}, "NPS 的值应为 0 到 10 的整数"),
        ({"fact": "csat", "op": "lte", "value": "很差"}, "「很差」不是数字"),
        ({"fact": "ces", "op": "gte", "value": ""}, "请填写「CES」的数值"),
        (
            {"fact": "risk_flag", "op": "eq", "choices": ["regulator"]},
            "「风险信号」不能用「=」比较",
        ),
        ({"fact": "sentiment", "op": "eq", "value": "愤怒"}, "「愤怒」不是「情感」的可选值"),
        ({"fact": "topic", "op": "contains", "value": "信用卡"}, "目前还没有任何「主题」"),
        (
            {"fact": "sentiment", "op": "eq", "choices": ["negative", "neutral"]},
            "只能有一个值",
        ),
        ({"fact": "risk_flag", "op": "in", "choices": [""]}, "请至少选择一个「风险信号」的值"),
        ({"fact": "", "op": "eq", "value": "6"}, "请选择指标"),
        ({"fact": "nps", "op": "", "value": "6"}, "请选择比较方式"),
        ({"fact": "mood", "op": "eq", "value": "6"}, "mood"),
        ({"fact": "nps", "op": "~", "value": "6"}, "~"),
    ],
)
def test_a_bad_row_is_refused_with_its_message_and_everything_typed_is_kept(
    client, world, row, message
):
    login(client, world.manager)
    good = {"fact": "nps", "op": "lte", "value": "4"}
    reply = client.post(
        url("alert_rule_new", world), rule_post([good, row], name="我的规则", sla_hours="12")
    )
    assert reply.status_code == 200
    page = reply.content.decode()
    assert message in page
    assert page.count('data-testid="row-error"') == 1
    assert 'value="我的规则"' in page and 'value="12"' in page
    assert 'name="c-0-value" value="4"' in page
    if row.get("value"):
        assert f'name="c-1-value" value="{row["value"]}"' in page
    with tenant_context(world.tenant):
        assert not AlertRule.objects.filter(name="我的规则").exists()


def test_a_rule_without_conditions_is_refused(client, world):
    login(client, world.manager)
    reply = client.post(url("alert_rule_new", world), rule_post([{"fact": "", "op": ""}]))
    assert "请至少填写一个条件" in reply.content.decode()


def test_a_deleted_row_is_left_out(client, world):
    login(client, world.manager)
    rows = [REGULATOR_ROW, {"fact": "nps", "op": "lte", "value": "99", "DELETE": "on"}]
    assert client.post(url("alert_rule_new", world), rule_post(rows)).status_code == 302
    with tenant_context(world.tenant):
        assert AlertRule.objects.get(name="监管投诉升级").conditions == {"any": [REGULATOR]}


def test_without_javascript_a_row_is_added_by_the_server_and_nothing_is_saved(client, world):
    login(client, world.manager)
    reply = client.post(url("alert_rule_new", world), rule_post([REGULATOR_ROW], action="add_row"))
    page = reply.content.decode()
    assert 'name="c-TOTAL_FORMS" value="2"' in page and 'name="c-1-fact"' in page
    assert '<option value="regulator" selected>' in page and 'value="监管投诉升级"' in page
    assert 'data-testid="row-error"' not in page and "请至少填写一个条件" not in page
    with tenant_context(world.tenant):
        assert AlertRule.objects.count() == 1


def test_the_editor_shows_a_rule_as_rows_and_saves_changes(client, world):
    with tenant_context(world.tenant):
        rule = create(world, {"all": [REGULATOR, {"fact": "nps", "op": "lte", "value": 6}]})
    login(client, world.manager)
    page = client.get(url("alert_rule_edit", world, rule_id=rule.pk)).content.decode()
    assert 'name="c-TOTAL_FORMS" value="2"' in page
    assert '<option value="regulator" selected>' in page
    assert 'name="c-1-value" value="6"' in page
    assert re.search(r'value="all"[^>]*checked', page)
    reply = client.post(
        url("alert_rule_edit", world, rule_id=rule.pk),
        rule_post([{"fact": "csat", "op": "lte", "value": "2"}], name="低满意度", match="all"),
    )
    assert reply.status_code == 302
    with tenant_context(world.tenant):
        rule.refresh_from_db()
    assert rule.name == "低满意度"
    assert rule.conditions == {"all": [{"fact": "csat", "op": "lte", "value": 2}]}


def test_a_rule_with_nested_groups_keeps_its_conditions_when_its_settings_change(client, world):
    nested = {"all": [REGULATOR, {"any": [{"fact": "nps", "op": "lte", "value": 6}]}]}
    with tenant_context(world.tenant):
        rule = create(world, nested)
    login(client, world.manager)
    edit = url("alert_rule_edit", world, rule_id=rule.pk)
    page = client.get(edit).content.decode()
    assert "风险信号 包含 监管投诉 且 NPS ≤ 6" in page and 'name="c-TOTAL_FORMS"' not in page
    assert (
        client.post(edit, rule_post([], name="嵌套规则", sla_hours="2", match="")).status_code
        == 302
    )
    with tenant_context(world.tenant):
        rule.refresh_from_db()
    assert (rule.name, rule.sla_hours, rule.conditions) == ("嵌套规则", 2, nested)


def test_preview_counts_recent_matches_with_examples_and_saves_nothing(client, world):
    no_default_rule(world)
    submit_and_score(world, {**PROMOTER, "text_1": THREAT})
    submit_and_score(world, {**PROMOTER, "text_1": "办理很顺利"})
    login(client, world.manager)
    reply = client.post(url("alert_rule_new", world), rule_post([REGULATOR_ROW], action="preview"))
    page = reply.content.decode()
    assert 'data-testid="rule-preview"' in page
    assert "已评分的 2 份回复中，有 <strong>1</strong> 份" in page
    assert THREAT in page and "办理很顺利" not in page
    with tenant_context(world.tenant):
        assert not AlertRule.objects.filter(name="监管投诉升级").exists()


def test_preview_tests_only_the_newest_scores(world, monkeypatch):
    monkeypatch.setattr(selectors, "PREVIEW_SCORES", 1)
    submit_and_score(world, BAD_ANSWERS)
    submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant):
        preview = selectors.alert_rule_preview(
            conditions=DEFAULT_CONDITIONS,
            scope_path="",
            since=timezone.now() - timedelta(days=1),
        )
    assert (preview.tested, preview.matched, preview.complete) == (1, 1, False)


def test_managers_switch_rules_off_and_on_from_the_list(client, world):
    login(client, world.manager)
    with tenant_context(world.tenant):
        rule = AlertRule.objects.get()
    active = url("alert_rule_active", world, rule_id=rule.pk)
    assert client.get(active).status_code == 405
    client.post(active, {"active": "0"})
    with tenant_context(world.tenant):
        rule.refresh_from_db()
    assert not rule.is_active
    assert "已停用" in client.get(url("alert_rules", world)).content.decode()
    client.post(active, {"active": "1"})
    with tenant_context(world.tenant):
        rule.refresh_from_db()
    assert rule.is_active


def test_deleting_a_rule_with_tickets_is_refused_with_a_message(client, world):
    submit_and_score(world, BAD_ANSWERS)
    login(client, world.manager)
    with tenant_context(world.tenant):
        rule = AlertRule.objects.get()
    page = client.post(url("alert_rule_delete", world, rule_id=rule.pk), follow=True)
    assert "已开出工单，为保留工单记录不能删除" in page.content.decode()
    with tenant_context(world.tenant):
        assert list(Ticket.objects.get().rules.all()) == [rule]


def test_a_rule_of_another_tenant_is_404_for_a_manager_here(client, world, other_world):
    with tenant_context(world.tenant):
        rule_id = AlertRule.objects.get().pk
    client.login(username=f"{other_world.tenant.slug}-owner", password=PASSWORD)
    for name in ("alert_rule_edit", "alert_rule_active", "alert_rule_delete"):
        target = url(name, other_world, rule_id=rule_id)
        assert client.post(target, {"active": "0"}).status_code == 404
    assert client.get(url("alert_rule_edit", other_world, rule_id=rule_id)).status_code == 404
    with tenant_context(world.tenant):
        assert AlertRule.objects.get().is_active


def list_queries(client, world) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url("alert_rules", world)).status_code == 200
    return len(captured)


def test_the_rule_list_runs_a_constant_number_of_queries(client, world):
    submit_and_score(world, BAD_ANSWERS)
    login(client, world.manager)
    few = list_queries(client, world)
    with tenant_context(world.tenant):
        for number in range(5):
            create(world, {"any": [{"fact": "csat", "op": "lte", "value": 2}]}, name=f"r{number}")
    for _ in range(3):
        submit_and_score(world, BAD_ANSWERS)  # every rule opens a ticket for each
    assert list_queries(client, world) == few
    assert few <= 10


def test_the_list_counts_the_tickets_of_the_last_30_days_in_the_members_subtree(client, world):
    submit_and_score(world, BAD_ANSWERS)  # 浦东支行
    submit_and_score(world, BAD_ANSWERS, link=world.branch_link)  # 西湖支行
    with tenant_context(world.tenant):
        old = Ticket.objects.order_by("number").first()
        Ticket.objects.filter(pk=old.pk).update(created_at=old.created_at.replace(year=2000))
    login(client, world.manager)
    page = client.get(url("alert_rules", world)).content.decode()
    assert '<td data-testid="rule-tickets">1</td>' in page
    client.logout()
    login(client, world.other_agent)  # 西湖支行 only
    page = client.get(url("alert_rules", world)).content.decode()
    assert '<td data-testid="rule-tickets">1</td>' in page
    client.logout()
    login(client, world.agent)  # 浦东支行: its ticket is older than 30 days
    page = client.get(url("alert_rules", world)).content.decode()
    assert '<td data-testid="rule-tickets">0</td>' in page


# --- End to end ------------------------------------------------------------------------------


def test_a_rule_written_in_the_editor_opens_a_ticket_when_a_matching_response_is_scored(
    client, world
):
    no_default_rule(world)
    login(client, world.manager)
    reply = client.post(url("alert_rule_new", world), rule_post([REGULATOR_ROW]))
    assert reply.status_code == 302
    calm = submit_and_score(world, {**PROMOTER, "text_1": "办理很顺利"})
    threat = submit_and_score(world, {**PROMOTER, "text_1": THREAT})
    with tenant_context(world.tenant):
        ticket = Ticket.objects.get()
        assert ticket.response_id == threat.pk != calm.pk
        assert [rule.name for rule in ticket.rules.all()] == ["监管投诉升级"]
        assert ticket.priority == "urgent"
    listed = client.get(url("alert_rules", world)).content.decode()
    assert '<td data-testid="rule-tickets">1</td>' in listed
