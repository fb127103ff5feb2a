"""The daily text rollups and mentions behind the text analytics page: kept by scoring and
rescoring, rebuilt from the scores, scoped by tenant and org unit, and giving the numbers and
verbatims the scored texts themselves give (analytics.text_overview's reference functions)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, time, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from analytics.models import ResponseScore, TextDaily, TextKind, TextMention
from analytics.rollups import tallies_unpacked
from analytics.selectors import (
    org_unit_names,
    text_counts,
    text_dictionary,
    text_rows,
    text_verbatims,
    touchpoint_names,
)
from analytics.services import response_score, text_rollups_rebuild, topic_keywords_add
from analytics.tasks import rebuild_text_rollups
from analytics.text_overview import DrillDown, drill_down, text_overview, text_overview_of_counts
from journeys.models import Channel, Journey, Stage, Touchpoint
from organizations.db.guard import owner_session
from organizations.models import OrgUnit, Tenant
from organizations.services import org_unit_create
from organizations.tenancy import tenant_context
from surveys.models import Response
from tests.factories import PASSWORD

# Texts are placed on days counted back from now, and periods start at a local midnight.
pytestmark = pytest.mark.usefixtures("midday")

TEXTS = [
    "服务态度很好，但是排队太久了",
    "排队等了一个多小时，柜员态度也很差",
    "柜员非常专业，办理很快",
    "手机银行App经常闪退，转账失败",
    "信用卡年费被莫名扣了，再不解决就投诉到银保监会",
    "大堂经理很热情，环境也干净",
    "手续费太高了，我要销户",
    "今天办理了开户业务",
    "App转账很方便，界面清晰",
    "叫号系统出错，等了很久，我要去微博曝光",
    "信用卡额度调整很快，短信通知也及时",
]


@pytest.fixture
def places(world):
    """Where texts are written: two journeys' touchpoints, and a region outside the world's
    华东区 with a branch of its own."""
    with tenant_context(world.tenant):
        journey = Journey.objects.create(name="手机银行")
        stage = Stage.objects.create(journey=journey, name="使用", position=1)
        app = Touchpoint.objects.create(
            stage=stage, name="App", code="app", channel=Channel.MOBILE_APP
        )
        south = org_unit_create(
            name="华南区", code="SOUTH", kind=OrgUnit.Kind.REGION, parent=world.hq
        )
        tianhe = org_unit_create(
            name="天河支行", code="GZ-TH", kind=OrgUnit.Kind.BRANCH, parent=south
        )
    return {"app": app, "south": south, "tianhe": tianhe}


def scored(
    world,
    text: str,
    *,
    ago: timedelta = timedelta(0),
    touchpoint: Touchpoint | None = None,
    org_unit: OrgUnit | None = None,
    nps: int = 8,
) -> Response:
    """A response written `ago` before now at a touchpoint and org unit, scored in-process."""
    with tenant_context(world.tenant):
        response = Response.objects.create(
            survey=world.survey,
            version=world.survey.live_version,
            touchpoint=touchpoint,
            org_unit=org_unit,
            answers={"nps_1": nps, "csat_1": 3, "text_1": text},
            submitted_at=timezone.now() - ago,
            status=Response.Status.COMPLETE,
        )
        response_score(response_id=response.pk)
    return response


def spread(world, places, count: int = 44) -> list[Response]:
    """`count` texts over the last 60 days at every hour, at the world's touchpoints and org
    units, some at none."""
    touchpoints = [world.touchpoint, places["app"], None]
    units = [world.branch, world.other_branch, places["tianhe"], world.hq, None]
    return [
        scored(
            world,
            TEXTS[i % len(TEXTS)],
            ago=timedelta(days=(i * 7) % 61, minutes=(i * 211) % 1440),
            touchpoint=touchpoints[i % len(touchpoints)],
            org_unit=units[i % len(units)],
            nps=i % 11,
        )
        for i in range(count)
    ]


def with_topics(world) -> None:
    with tenant_context(world.tenant):
        topic_keywords_add(name="排队", keywords="排队、叫号", by=world.manager)
        topic_keywords_add(name="信用卡", keywords="信用卡、年费", by=world.manager)


def rollups(tenant: Tenant) -> dict:
    """The tenant's rollup rows by cell and key, and its mentions by score."""
    with tenant_context(tenant):
        daily = {
            tuple(place): (count, round(score_sum, 9), scored)
            for *place, count, score_sum, scored in tallies_unpacked(TextDaily.objects.all())
        }
        mentions = sorted(TextMention.objects.values_list("score_id", "kind", "key", "label"))
    return {"daily": daily, "mentions": mentions}


def period(world, days: int) -> tuple:
    """The first day of a period of `days` days ending today, and its first moment."""
    zone = ZoneInfo(world.tenant.time_zone)
    first_day = timezone.localdate(timezone=zone) - timedelta(days=days - 1)
    return first_day, datetime.combine(first_day, time.min, tzinfo=zone)


def comparable(value):
    """A dataclass as nested dicts and lists, floats rounded: sums of the same scores added in
    another order differ in the last bits."""
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {key: comparable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [comparable(item) for item in value]
    return round(value, 9) if isinstance(value, float) else value


def both_overviews(world, *, days: int, scope_path: str = "", **filters) -> tuple:
    """The overview counted text by text (the reference) and from the rollups."""
    first_day, since = period(world, days)
    with tenant_context(world.tenant):
        dictionary = text_dictionary()
        names = {
            "aspect_names": dictionary.aspect_finder.names,
            "topic_names": dictionary.topic_matcher.names,
            "touchpoint_names": touchpoint_names(),
            "org_unit_names": org_unit_names(scope_path=scope_path),
        }
        before = datetime.combine(first_day - timedelta(days=days), time.min, tzinfo=since.tzinfo)
        rows = text_rows(scope_path=scope_path, since=before, **filters)
        reference = text_overview(rows, since=since, **names)
        counts = text_counts(scope_path=scope_path, first_day=first_day, days=days, **filters)
        return reference, text_overview_of_counts(counts, **names)


def test_scoring_counts_a_text_in_the_rollups_of_its_day_touchpoint_and_org_unit(world):
    with_topics(world)
    response = scored(
        world, "服务态度很好，但是排队太久了", touchpoint=world.touchpoint, org_unit=world.branch
    )
    with tenant_context(world.tenant):
        score = ResponseScore.objects.get(response=response)
        cell = (timezone.localdate(response.submitted_at), world.touchpoint.pk, world.branch.pk)
    label = score.sentiment_label
    expected = {
        (*cell, TextKind.SENTIMENT, label, ""): (1, round(score.sentiment_score, 9), 1),
        (*cell, TextKind.TOPIC, "排队", label): (1, round(score.sentiment_score, 9), 1),
        (*cell, TextKind.ASPECT, "服务态度", "positive"): (1, 0.0, 0),
        (*cell, TextKind.ASPECT, "等待时间", "negative"): (1, 0.0, 0),
        **{(*cell, TextKind.KEYWORD, word, ""): (1, 0.0, 0) for word in score.keywords},
        (*cell, TextKind.RELATION, "服务态度", "好"): (1, 0.0, 0),
        (*cell, TextKind.RELATION, "排队", "久"): (1, 0.0, 0),
    }
    assert rollups(world.tenant)["daily"] == expected
    assert rollups(world.tenant)["mentions"] == sorted(
        [
            (score.pk, TextKind.TOPIC, "排队", ""),
            (score.pk, TextKind.ASPECT, "服务态度", "positive"),
            (score.pk, TextKind.ASPECT, "等待时间", "negative"),
            *((score.pk, TextKind.KEYWORD, word, "") for word in score.keywords),
            (score.pk, TextKind.RELATION, "服务态度", "好"),
            (score.pk, TextKind.RELATION, "排队", "久"),
        ]
    )


def test_a_text_with_a_risk_and_no_topic_counts_as_at_risk_and_uncovered(world):
    scored(world, "手续费太高了，我要销户", org_unit=world.branch)
    daily = rollups(world.tenant)["daily"]
    by_kind = {
        (kind, key, label): n for (_d, _t, _o, kind, key, label), (n, _s, _c) in daily.items()
    }
    assert by_kind[(TextKind.RISK, "churn", "销户")] == 1
    assert by_kind[(TextKind.AT_RISK, "", "")] == 1
    assert by_kind[(TextKind.UNCOVERED, "", "")] == 1
    assert {touchpoint for (_d, touchpoint, *_rest) in daily} == {0}  # none: 0


def test_rescoring_replaces_what_the_score_counted_and_never_counts_it_twice(world):
    response = scored(world, "信用卡年费太贵了", org_unit=world.branch)
    before = rollups(world.tenant)
    assert (TextKind.UNCOVERED, "", "") in {key[3:] for key in before["daily"]}

    response_score(response_id=response.pk)  # same analyzer and dictionary: nothing to redo
    assert rollups(world.tenant) == before

    with_topics(world)  # a new dictionary revision: the text is rescored
    response_score(response_id=response.pk)
    response_score(response_id=response.pk)
    after = rollups(world.tenant)
    kinds = {key[3:]: value[0] for key, value in after["daily"].items()}
    assert (TextKind.UNCOVERED, "", "") not in kinds  # its row went with its last text
    assert sum(n for (kind, *_k), n in kinds.items() if kind == TextKind.SENTIMENT) == 1
    assert [key for key in kinds if key[0] == TextKind.TOPIC] == [
        (TextKind.TOPIC, "信用卡", next(k[1] for k in kinds if k[0] == TextKind.SENTIMENT))
    ]
    topic_mentions = [m for m in after["mentions"] if m[1] == TextKind.TOPIC]
    assert [m[2] for m in topic_mentions] == ["信用卡"]
    assert len(after["mentions"]) == len(set(after["mentions"]))


def test_a_rebuild_gives_back_what_scoring_and_rescoring_kept(world, places):
    responses = spread(world, places, count=20)
    with_topics(world)
    for response in responses[::2]:
        response_score(response_id=response.pk)
    kept = rollups(world.tenant)
    with tenant_context(world.tenant):
        TextDaily.objects.filter(pk=TextDaily.objects.earliest("day").pk).delete()
        TextMention.objects.filter(score__response=responses[0]).delete()
        rebuilt = text_rollups_rebuild()
    assert rollups(world.tenant) == kept
    assert rebuilt.texts == 20 and rebuilt.rollup_rows == len({key[:3] for key in kept["daily"]})
    assert rebuilt.mentions == len(kept["mentions"])


def test_the_command_and_the_task_rebuild_named_tenants_and_leave_others(world, other_world):
    scored(world, TEXTS[0])
    scored(other_world, TEXTS[1])
    ours, theirs = rollups(world.tenant), rollups(other_world.tenant)
    with tenant_context(world.tenant):
        TextDaily.objects.all().delete()
    out = StringIO()
    call_command("rebuild_rollups", tenant=[world.tenant.slug], stdout=out)
    assert f"{world.tenant.slug}: 1 texts" in out.getvalue()
    assert rebuild_text_rollups(world.tenant.pk) == 1
    assert rollups(world.tenant) == ours and rollups(other_world.tenant) == theirs


def test_rollups_of_another_tenant_never_appear(client, world, other_world):
    scored(world, "柜员非常专业，办理很快", org_unit=world.branch)
    for _ in range(3):
        scored(other_world, "再不解决就投诉到银保监会", org_unit=other_world.branch)
    first_day, _since = period(world, 30)
    with tenant_context(world.tenant):
        counts = text_counts(scope_path="", first_day=first_day, days=30)
        assert not TextDaily.objects.filter(tenant=other_world.tenant).exists()
    assert sum(tally.count for _day, _label, tally in counts.sentiment_days) == 1
    assert counts.with_risk == 0 and counts.risks == []
    assert client.login(username=world.manager.username, password=PASSWORD)
    page = client.get(reverse("text_analytics", kwargs={"tenant_slug": world.tenant.slug}))
    assert 'data-testid="kpi-risks"><h2>风险信号</h2><p class="value">0<' in page.content.decode()


def test_a_member_scope_counts_only_the_texts_of_its_subtree(world, places):
    scored(world, TEXTS[0], org_unit=world.branch)
    scored(world, TEXTS[1], org_unit=world.other_branch)
    scored(world, TEXTS[2], org_unit=places["tianhe"])
    scored(world, TEXTS[3], org_unit=None)
    first_day, _since = period(world, 7)

    def texts(scope_path: str, **filters) -> int:
        with tenant_context(world.tenant):
            counts = text_counts(scope_path=scope_path, first_day=first_day, days=7, **filters)
        return sum(tally.count for _day, _label, tally in counts.sentiment_days)

    assert texts("") == 4
    assert texts(world.region.path) == 2
    assert texts(world.branch.path) == 1
    assert texts(world.region.path, org_unit=world.other_branch) == 1
    assert texts(places["south"].path) == 1


FILTERS = [
    ("everything", "", {}),
    ("journey", "", {"journey": "journey"}),
    ("touchpoint", "", {"touchpoint": "app"}),
    ("org unit", "", {"org_unit": "region"}),
    ("region member", "region", {}),
    ("branch member, filtered", "branch", {"org_unit": "branch", "journey": "journey"}),
]


def test_the_page_numbers_from_rollups_are_those_of_the_texts_themselves(world, places):
    responses = spread(world, places)
    with_topics(world)  # and rescore some: rollups after decrements too
    for response in responses[::3]:
        response_score(response_id=response.pk)
    objects = {
        "journey": world.journey,
        "app": places["app"],
        "region": world.region,
        "branch": world.branch,
    }
    compared = 0
    for name, scope, filters in FILTERS:
        scope_path = objects[scope].path if scope else ""
        narrowed = {field: objects[value] for field, value in filters.items()}
        for days in (7, 30):
            reference, from_rollups = both_overviews(
                world, days=days, scope_path=scope_path, **narrowed
            )
            assert comparable(from_rollups) == comparable(reference), (name, days)
            compared += reference.texts + reference.previous_total
    assert compared > 100  # the cases are not empty


DRILLS = [
    DrillDown(),
    DrillDown(sentiment="negative"),
    DrillDown(topic="排队"),
    DrillDown(topic="信用卡", sentiment="negative"),
    DrillDown(aspect="等待时间"),
    DrillDown(aspect="等待时间", polarity="negative"),
    DrillDown(aspect="服务态度", polarity="positive", sentiment="neutral"),
    DrillDown(risk_flag="regulator"),
    DrillDown(keyword="排队"),
]


@pytest.mark.parametrize(
    "drill",
    DRILLS,
    ids=lambda drill: ",".join(value for value in vars(drill).values() if value) or "all",
)
@pytest.mark.parametrize("limit", [4, 100], ids=["page-full", "all-on-the-page"])
def test_the_drill_down_lists_the_verbatims_the_texts_themselves_give(world, places, drill, limit):
    with_topics(world)
    spread(world, places, count=33)
    _first_day, since = period(world, 45)
    with tenant_context(world.tenant):
        rows = text_rows(scope_path=world.region.path, since=since)
        matched, newest = text_verbatims(
            scope_path=world.region.path, since=since, drill=drill, limit=limit
        )
        expected_count, expected_ids = drill_down(rows, drill, since=since, limit=limit)
    assert [score.pk for score in newest] == expected_ids
    assert matched == (expected_count if drill else None)
    assert expected_count > 0


def test_texts_for_themes_are_the_newest_no_topic_covers(world, places):
    with_topics(world)
    spread(world, places, count=22)
    _first_day, since = period(world, 30)
    with tenant_context(world.tenant):
        every = text_rows(scope_path="", since=since)
        uncovered = text_rows(scope_path="", since=since, uncovered=True, limit=5)
    assert uncovered == [row for row in every if not row.topics][:5]


def test_the_page_runs_as_many_queries_for_a_day_as_for_months_of_texts(
    client, world, places, local_cache
):
    assert client.login(username=world.manager.username, password=PASSWORD)
    page = reverse("text_analytics", kwargs={"tenant_slug": world.tenant.slug})
    drilled = f"{page}?days=90&aspect=等待时间&polarity=negative"

    def queries(path: str) -> int:
        cache.clear()  # count the discovery of themes too, not a cached answer
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        return len(captured)

    with_topics(world)
    scored(world, TEXTS[1], touchpoint=world.touchpoint, org_unit=world.branch)
    scored(world, "App又闪退了", org_unit=world.branch)  # no topic: themes are searched
    few = queries(page), queries(drilled)
    spread(world, places)
    assert (queries(page), queries(drilled)) == few


def test_the_demo_seed_ends_with_the_rollups_a_rebuild_gives(db):
    call_command("seed_demo", responses=60, stdout=StringIO())
    tenant = Tenant.objects.get(slug="demo-bank")
    seeded = rollups(tenant)
    with tenant_context(tenant):
        text_rollups_rebuild()
    assert rollups(tenant) == seeded and seeded["daily"]


@pytest.mark.django_db(transaction=True)
def test_the_migration_counts_the_scores_made_before_it(world):
    for text in TEXTS[:5]:
        scored(world, text, org_unit=world.branch, ago=timedelta(days=3))
    kept = rollups(world.tenant)
    with owner_session():  # as `migrate` does: schema changes are the owner's
        executor = MigrationExecutor(connection)
        executor.migrate([("analytics", "0004_topics")])
        executor = MigrationExecutor(connection)  # the graph, as it is after going back
        executor.migrate(executor.loader.graph.leaf_nodes())
    # Going back before 0011 drops the scores' relations (derived data: a rescore finds them
    # again), so the rebuilt rollups count everything but them.
    assert rollups(world.tenant) == without_relations(kept) and kept["mentions"]


def without_relations(counted: dict) -> dict:
    return {
        "daily": {cell: n for cell, n in counted["daily"].items() if cell[3] != TextKind.RELATION},
        "mentions": [row for row in counted["mentions"] if row[1] != TextKind.RELATION],
    }
