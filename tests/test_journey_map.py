"""The metric system and the journey map: metrics, targets and weights per touchpoint with
org-unit overrides, refused bad input and roles, and the map page read from the daily rollups
(cells against target, greyed small samples, change on the previous period, top negative
aspect, scope, constant query count) with its drill-down to responses and tickets."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alerts.models import Ticket
from analytics import metric_system
from analytics.journey_map import metric_specs
from analytics.kept_pages import kept_pages_stale
from analytics.models import OrgUnitMetricTarget, TouchpointMetric
from analytics.services import response_score
from journeys import services as journey_services
from journeys.models import Channel, KeyMoment, Touchpoint
from organizations.models import AuditEvent
from organizations.tenancy import tenant_context
from surveys import services as survey_services
from surveys.models import Response
from tests.factories import PASSWORD

pytestmark = pytest.mark.usefixtures("midday")

BAD_TEXT = "排队等了一个多小时，柜员态度也很差"
GOOD_TEXT = "柜员非常专业，办理很快，很满意"


@pytest.fixture(autouse=True)
def small_sample(settings):
    settings.CEM_MAP_MIN_SAMPLE = 3


def answered(world, *, nps: int, touchpoint=None, org_unit=None, days_ago: int = 1, text=""):
    """A response scored in-process: the rollups are kept by the real scoring path."""
    with tenant_context(world.tenant):
        answers = {"nps_1": nps, "csat_1": 5 if nps >= 9 else 2}
        if text:
            answers["text_1"] = text
        response = Response.objects.create(
            survey=world.survey,
            version=world.survey.live_version,
            touchpoint=touchpoint or world.touchpoint,
            org_unit=org_unit or world.branch,
            answers=answers,
            submitted_at=timezone.now() - timedelta(days=days_ago),
            status=Response.Status.COMPLETE,
        )
        response_score(response_id=response.pk)
    return response


def page_url(world, name="journey_detail", **kwargs) -> str:
    kwargs.setdefault("journey_id", world.journey.pk)
    return reverse(name, kwargs={"tenant_slug": world.tenant.slug, **kwargs})


def logged_in(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client


def cell_html(html: str, code: str) -> str:
    match = re.search(rf'<a class="map-cell[^"]*" data-touchpoint="{code}".*?</a>', html, re.S)
    assert match, f"no cell {code}"
    return match.group(0)


def second_touchpoint(world, code="app-login", **fields) -> Touchpoint:
    with tenant_context(world.tenant):
        return Touchpoint.objects.create(
            stage=world.touchpoint.stage,
            name=fields.pop("name", "手机银行登录"),
            code=code,
            channel=fields.pop("channel", Channel.MOBILE_APP),
            **fields,
        )


# --- the metric system ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"metric": "nps", "target": "30", "weight": "很重要"}, "不是有效的数字"),
        ({"metric": "nps", "target": "30", "weight": "-1"}, "权重不能为负数"),
        ({"metric": "csat", "target": "7", "weight": "1"}, "目标值须在 1 到 5 之间"),
        ({"metric": "nps", "target": "nan", "weight": "1"}, "不是有效的数字"),
        ({"metric": "rating", "key": "999:q", "target": "80", "weight": "1"}, "评分题不属于"),
        ({"metric": "responses", "target": "1", "weight": "1"}, "未知的指标"),
    ],
)
def test_bad_metric_input_is_refused_in_chinese_and_changes_nothing(in_tenant, fields, message):
    world = in_tenant
    with pytest.raises(ValidationError) as refused:
        metric_system.touchpoint_metric_set(touchpoint=world.touchpoint, by=world.manager, **fields)
    assert message in " ".join(refused.value.messages)
    assert not TouchpointMetric.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="touchpoint_metric").exists()


def test_a_rating_question_of_a_survey_at_the_touchpoint_can_count(in_tenant):
    world = in_tenant
    survey = survey_services.survey_create(
        name="柜台评分", touchpoint=world.touchpoint, by=world.manager
    )
    key = survey_services.survey_question_add(
        survey=survey, qtype="rating", text_zh="请为柜员打分", min=1, max=10
    )
    rating = f"{survey.pk}:{key}"
    assert rating in dict(metric_system.rating_questions(world.touchpoint))
    row = metric_system.touchpoint_metric_set(
        touchpoint=world.touchpoint,
        metric="rating",
        key=rating,
        target="75",
        weight="2",
        by=world.manager,
    )
    other = second_touchpoint(world)
    with pytest.raises(ValidationError):
        metric_system.touchpoint_metric_set(
            touchpoint=other, metric="rating", key=rating, target="75", weight="1", by=world.manager
        )
    assert (row.key, row.target, row.weight) == (rating, 75.0, 2.0)
    (spec,) = metric_specs([world.touchpoint.pk], org_unit=None, default_target=30)[
        world.touchpoint.pk
    ]
    assert spec.label == "请为柜员打分"  # the map shows the question, not its key


def test_setting_a_metric_again_changes_it_and_is_audited(in_tenant):
    world = in_tenant
    metric_system.touchpoint_metric_set(
        touchpoint=world.touchpoint, metric="nps", target="20", weight="1", by=world.manager
    )
    row = metric_system.touchpoint_metric_set(
        touchpoint=world.touchpoint, metric="nps", target="35.5", weight="3", by=world.manager
    )
    assert TouchpointMetric.objects.get() == row and (row.target, row.weight) == (35.5, 3.0)
    event = AuditEvent.objects.filter(action="touchpoint_metric.set").order_by("id").last()
    assert event.before["target"] == 20.0 and event.after["target"] == 35.5
    assert event.actor_user == world.manager


def test_the_nearest_org_unit_target_overrides_the_tenant_wide_one(in_tenant):
    world = in_tenant
    row = metric_system.touchpoint_metric_set(
        touchpoint=world.touchpoint, metric="nps", target="20", weight="1", by=world.manager
    )
    metric_system.org_unit_target_set(
        touchpoint_metric=row, org_unit=world.region, target="50", by=world.manager
    )
    metric_system.org_unit_target_set(
        touchpoint_metric=row, org_unit=world.branch, target="60", by=world.manager
    )

    def target(unit):
        return metric_specs([world.touchpoint.pk], org_unit=unit, default_target=30)[
            world.touchpoint.pk
        ][0].target

    assert target(None) == 20 and target(world.hq) == 20
    assert target(world.region) == 50 and target(world.other_branch) == 50
    assert target(world.branch) == 60
    with pytest.raises(ValidationError):
        metric_system.org_unit_target_set(
            touchpoint_metric=row, org_unit=world.region, target="101", by=world.manager
        )
    assert OrgUnitMetricTarget.objects.get(org_unit=world.region).target == 50


def test_a_touchpoint_without_metrics_counts_nps_against_the_default_target(in_tenant):
    world = in_tenant
    metric_system.default_nps_target_set(tenant=world.tenant, target="45", by=world.manager)
    world.tenant.refresh_from_db()
    from analytics.journey_map import default_nps_target

    spec = metric_specs([world.touchpoint.pk], org_unit=None, default_target=45)
    assert default_nps_target(world.tenant) == 45
    assert [(s.metric, s.target, s.weight) for s in spec[world.touchpoint.pk]] == [("nps", 45, 1)]


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_viewers_and_agents_may_not_change_metrics(client, world, role):
    user = getattr(world, role)
    with tenant_context(world.tenant), pytest.raises(PermissionDenied):
        metric_system.touchpoint_metric_set(
            touchpoint=world.touchpoint, metric="nps", target="20", weight="1", by=user
        )
    logged_in(client, user)
    url = page_url(world, "journey_metrics")
    assert client.get(url).status_code == 403
    posted = {"action": "metric_set", "touchpoint": world.touchpoint.pk, "metric": "nps"}
    assert client.post(url, {**posted, "target": "20", "weight": "1"}).status_code == 403
    with tenant_context(world.tenant):
        assert not TouchpointMetric.objects.exists()


def test_the_editor_sets_targets_and_shows_a_refusal_without_changing_anything(client, world):
    logged_in(client, world.manager)
    url = page_url(world, "journey_metrics")
    post = {"action": "metric_set", "touchpoint": world.touchpoint.pk, "metric": "csat"}
    refused = client.post(url, {**post, "target": "4", "weight": "abc"})
    assert refused.status_code == 400
    assert "权重「abc」不是有效的数字" in refused.content.decode()
    assert client.post(url, {**post, "target": "4.2", "weight": "2"}).status_code == 302
    with tenant_context(world.tenant):
        row = TouchpointMetric.objects.get()
    assert (row.metric, row.target, row.weight) == ("csat", 4.2, 2.0)
    unit = {"action": "unit_target_set", "metric_id": row.pk, "target": "4.5"}
    assert client.post(url, {**unit, "unit_code": "NOPE"}).status_code == 400
    assert client.post(url, {**unit, "unit_code": "EAST"}).status_code == 302
    assert "华东区 (EAST)" in client.get(url).content.decode()


# --- the map page ---------------------------------------------------------------------------


@pytest.fixture
def mapped(world):
    """The counter scored well this period (4 answers) and worse the period before; a second
    touchpoint, a low moment, has one answer only."""
    for nps in (10, 10, 9, 3):
        answered(world, nps=nps, text=BAD_TEXT if nps == 3 else GOOD_TEXT)
    for nps in (2, 3, 10):
        answered(world, nps=nps, days_ago=40)
    app = second_touchpoint(world, key_moment=KeyMoment.LOW)
    answered(world, nps=0, touchpoint=app, text=BAD_TEXT)
    with tenant_context(world.tenant):
        metric_system.touchpoint_metric_set(
            touchpoint=world.touchpoint, metric="nps", target="40", weight="1", by=world.manager
        )
    return app


def test_the_map_shows_each_cell_against_its_target_with_change_volume_and_aspect(
    client, world, mapped
):
    html = logged_in(client, world.manager).get(page_url(world)).content.decode()
    counter = cell_html(html, "counter")
    # NPS: 3 promoters, 1 detractor of 4 -> 50, on 0-100: 75 against a target of 40 -> 70
    assert '<strong class="cell-index">75</strong>' in counter
    assert "/ 目标 70" in counter
    assert "status-met" in counter and "✓" in counter and "达标" in counter
    assert "n=4" in counter
    # the period before: 1 promoter, 2 detractors of 3 -> NPS -33.3 -> 33.3 points
    assert "上升" in counter and "41.7" in counter
    assert "主要负面：" in counter
    app = cell_html(html, "app-login")
    assert "status-low_sample" in app and "样本不足" in app and "n=1" in app
    assert 'cell-index">—' in app and "低谷时刻" in app and "▼" in app
    # the journey is the counter alone: the small sample is left out
    assert '<strong class="journey-index">75.0</strong>' in html


def test_the_journey_list_shows_the_cx_index_and_links_the_map(client, world, mapped):
    url = reverse("journey_map", kwargs={"tenant_slug": world.tenant.slug})
    html = logged_in(client, world.viewer).get(url).content.decode()
    assert f'href="{page_url(world)}"' in html
    assert "CX 指数 <strong>75.0</strong>" in html


def test_a_viewer_sees_only_their_subtree_and_cannot_ask_for_another_unit(client, world, mapped):
    answered(world, nps=0, org_unit=world.hq)  # at head office, outside the region
    logged_in(client, world.viewer)
    html = client.get(page_url(world)).content.decode()
    assert "n=4" in cell_html(html, "counter")
    assert f'value="{world.region.pk}" selected' in html
    assert f'value="{world.hq.pk}"' not in html
    refused = client.get(page_url(world) + f"?unit={world.hq.pk}").content.decode()
    assert "不在您的查看范围内" in refused
    assert "n=4" in cell_html(refused, "counter")
    branch = client.get(page_url(world) + f"?unit={world.other_branch.pk}").content.decode()
    assert "n=0" in cell_html(branch, "counter") and "暂无数据" in cell_html(branch, "counter")
    client.logout()
    everything = logged_in(client, world.manager).get(page_url(world)).content.decode()
    assert "n=5" in cell_html(everything, "counter")


def test_bad_dates_fall_back_to_the_last_30_days_with_a_message(client, world, mapped):
    logged_in(client, world.manager)
    reply = client.get(page_url(world) + "?start=2026-06-10&end=2026-01-01")
    assert reply.status_code == 200
    assert "结束日期不能早于开始日期" in reply.content.decode()
    far = client.get(page_url(world) + "?start=0001-01-01&end=0001-01-31")
    assert far.status_code == 200 and "日期超出可查询的范围" in far.content.decode()
    presets = client.get(page_url(world) + "?days=90").content.decode()
    assert "n=7" in cell_html(presets, "counter")  # both periods' answers


def test_the_map_reads_the_rollups_in_a_constant_number_of_queries(
    client, world, django_assert_max_num_queries
):
    answered(world, nps=9)
    logged_in(client, world.manager)
    url = page_url(world)
    client.get(url)  # warm the session and the translations
    kept_pages_stale(world.tenant.pk)  # drawn anew, not taken from the cache
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    for i in range(9):
        touchpoint = second_touchpoint(world, code=f"tp-{i}", name=f"触点{i}")
        answered(world, nps=i, touchpoint=touchpoint, text=BAD_TEXT)
        with tenant_context(world.tenant):
            metric_system.touchpoint_metric_set(
                touchpoint=touchpoint, metric="text", target="20", weight="1", by=world.manager
            )
    kept_pages_stale(world.tenant.pk)
    with django_assert_max_num_queries(len(one)):
        html = client.get(url).content.decode()
    assert html.count('<a class="map-cell') == 10
    assert not any("surveys_response" in q["sql"] for q in one.captured_queries)


def test_a_cell_opens_the_responses_and_tickets_behind_it(client, world, mapped, monkeypatch):
    monkeypatch.setattr("analytics.journey_views.RESPONSES_PER_PAGE", 3)
    logged_in(client, world.manager)
    html = client.get(page_url(world)).content.decode()
    href = re.search(r'data-touchpoint="counter" href="([^"]+)"', html).group(1)
    drill = client.get(href.replace("&amp;", "&")).content.decode()
    assert "网点柜台 的回复与工单" in drill and "4 份回复" in drill
    assert drill.count("/responses/") >= 3 and "第 1 / 2 页" in drill
    with tenant_context(world.tenant):
        ticket = Ticket.objects.filter(response__touchpoint=world.touchpoint).first()
    second = client.get(href.replace("&amp;", "&") + "&page=2").content.decode()
    assert f"#{ticket.number}" in drill + second
    client.logout()
    logged_in(client, world.other_agent)  # of the other branch: none of these are theirs
    theirs = client.get(href.replace("&amp;", "&")).content.decode()
    assert "0 份回复" in theirs


# --- the drawn map, kept until what it shows changes ------------------------------------------


def _map_queries(client, url) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        html = client.get(url).content.decode()
    return html, [query["sql"] for query in queries.captured_queries]


def test_a_map_seen_again_is_taken_from_the_cache_without_reading_the_rollups(
    client, world, mapped
):
    logged_in(client, world.manager)
    drawn, drawing = _map_queries(client, page_url(world))
    kept, keeping = _map_queries(client, page_url(world))
    assert any("analytics_metricdaily" in sql for sql in drawing)
    assert not any("analytics_metricdaily" in sql or "journeys_" in sql for sql in keeping)
    assert len(keeping) < len(drawing)
    assert cell_html(kept, "counter") == cell_html(drawn, "counter")


def test_a_newly_scored_answer_shows_on_the_kept_map_at_once(client, world, mapped):
    logged_in(client, world.manager)
    assert "n=4" in cell_html(client.get(page_url(world)).content.decode(), "counter")
    answered(world, nps=10)
    assert "n=5" in cell_html(client.get(page_url(world)).content.decode(), "counter")


def test_a_changed_target_or_stage_order_shows_on_the_kept_map_at_once(client, world, mapped):
    logged_in(client, world.manager)
    assert "/ 目标 70" in cell_html(client.get(page_url(world)).content.decode(), "counter")
    with tenant_context(world.tenant):
        metric_system.touchpoint_metric_set(
            touchpoint=world.touchpoint, metric="nps", target="60", weight="1", by=world.manager
        )
        later = journey_services.stage_add(journey=world.journey, name="售后回访", by=world.manager)
    assert "/ 目标 80" in cell_html(client.get(page_url(world)).content.decode(), "counter")
    first = world.touchpoint.stage
    with tenant_context(world.tenant):
        journey_services.stages_reorder(
            journey=world.journey, order=[later.pk, first.pk], by=world.manager
        )
    html = client.get(page_url(world)).content.decode()
    assert html.index("售后回访") < html.index(first.name)


def test_members_of_other_scopes_and_languages_get_their_own_maps(client, world, mapped):
    everything = logged_in(client, world.manager).get(page_url(world)).content.decode()
    assert "n=4" in cell_html(everything, "counter")
    client.logout()
    answered(world, nps=0, org_unit=world.other_branch)  # outside the agent's branch
    logged_in(client, world.manager)
    assert "n=5" in cell_html(client.get(page_url(world)).content.decode(), "counter")
    client.logout()
    mine = logged_in(client, world.agent).get(page_url(world)).content.decode()
    assert "n=4" in cell_html(mine, "counter")
    assert f'value="{world.other_branch.pk}"' not in mine
    english = client.get(page_url(world), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "n=4" in cell_html(english, "counter") and "Top complaint" in english


def test_without_a_cache_that_answers_the_map_is_drawn_each_time(client, world, mapped, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_timeout": 0.2, "socket_connect_timeout": 0.2},
        }
    }
    logged_in(client, world.manager)
    assert "n=4" in cell_html(client.get(page_url(world)).content.decode(), "counter")
    answered(world, nps=10)
    assert "n=5" in cell_html(client.get(page_url(world)).content.decode(), "counter")


def test_another_tenants_kept_map_is_never_shown(client, world, other_world, mapped):
    logged_in(client, world.manager).get(page_url(world))
    url = reverse(
        "journey_detail",
        kwargs={"tenant_slug": other_world.tenant.slug, "journey_id": world.journey.pk},
    )
    client.logout()
    assert logged_in(client, other_world.manager).get(url).status_code == 404
