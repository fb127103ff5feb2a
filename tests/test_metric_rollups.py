"""The daily metric rollups behind the journey map: kept by scoring, counting a response in its
org unit, every ancestor and the whole tenant, following rescores and tickets, rebuilt to the
same rows, and read per tenant only. The reference is an aggregate of the raw responses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Count, Q
from django.utils import timezone

from alerts.models import Ticket
from analytics.metric_rollups import Totals
from analytics.models import Metric, MetricDaily, ResponseScore
from analytics.selectors import metric_totals
from analytics.services import metric_rollups_rebuild, response_score
from organizations.tenancy import tenant_context
from surveys.models import Response

pytestmark = pytest.mark.usefixtures("midday")

TEXTS = ["柜员态度很差，排队太久了", "服务很好，办理很快", "", "App老是闪退，我要投诉到银保监会"]


def answered(world, *, nps: int, text: str, org_unit, touchpoint, ago: timedelta) -> Response:
    with tenant_context(world.tenant):
        answers = {"nps_1": nps, "csat_1": 1 + nps % 5}
        if text:
            answers["text_1"] = text
        response = Response.objects.create(
            survey=world.survey,
            version=world.survey.live_version,
            touchpoint=touchpoint,
            org_unit=org_unit,
            answers=answers,
            submitted_at=timezone.now() - ago,
            status=Response.Status.COMPLETE,
        )
        response_score(response_id=response.pk)
    return response


@pytest.fixture
def answers(world):
    units = [world.branch, world.other_branch, world.region, world.hq, None]
    touchpoints = [world.touchpoint, None]
    return [
        answered(
            world,
            nps=i % 11,
            text=TEXTS[i % len(TEXTS)],
            org_unit=units[i % len(units)],
            touchpoint=touchpoints[i % len(touchpoints)],
            ago=timedelta(days=i % 9, hours=i % 13),
        )
        for i in range(40)
    ]


def summed(totals: dict, metric: str) -> Totals:
    result = Totals()
    for (_touchpoint, name, _key), value in totals.items():
        if name == metric:
            result = result.plus(value)
    return result


def raw_nps(subtree_path: str | None) -> Totals:
    """NPS answers, promoters and detractors of the responses under a unit, from the scores."""
    scores = ResponseScore.objects.filter(nps__isnull=False)
    if subtree_path is not None:
        scores = scores.filter(response__org_unit__path__startswith=subtree_path)
    row = scores.aggregate(
        n=Count("pk"),
        good=Count("pk", filter=Q(nps_category="promoter")),
        bad=Count("pk", filter=Q(nps_category="detractor")),
    )
    total = sum(scores.values_list("nps", flat=True))
    return Totals(row["n"], float(total), row["good"], row["bad"])


def window():
    today = timezone.localdate()
    return {"start": today - timedelta(days=30), "end": today}


def test_a_response_counts_in_its_unit_every_ancestor_and_the_whole_tenant(world, answers):
    with tenant_context(world.tenant):
        assert summed(metric_totals(org_unit_id=0, **window()), Metric.NPS) == raw_nps(None)
        for unit in (world.hq, world.region, world.branch, world.other_branch):
            rolled = summed(metric_totals(org_unit_id=unit.pk, **window()), Metric.NPS)
            assert rolled == raw_nps(unit.path), unit.name
        everything = metric_totals(org_unit_id=0, **window())
        assert summed(everything, Metric.RESPONSES).n == len(answers)
        texts = ResponseScore.objects.exclude(verbatim="")
        assert summed(everything, Metric.TEXT) == Totals(
            texts.count(),
            0.0,
            texts.filter(sentiment_label="positive").count(),
            texts.filter(sentiment_label="negative").count(),
        )


def test_each_touchpoint_has_its_own_rows(world, answers):
    with tenant_context(world.tenant):
        totals = metric_totals(org_unit_id=0, **window())
        at_counter = Response.objects.filter(touchpoint=world.touchpoint).count()
        assert totals[(world.touchpoint.pk, Metric.RESPONSES, "")].n == at_counter
        assert totals[(0, Metric.RESPONSES, "")].n == len(answers) - at_counter
        only = metric_totals(org_unit_id=0, touchpoint_ids=[world.touchpoint.pk], **window())
        assert {touchpoint for touchpoint, _metric, _key in only} == {world.touchpoint.pk}


def test_a_window_counts_only_its_days(world, answers):
    with tenant_context(world.tenant):
        today = timezone.localdate()
        totals = metric_totals(org_unit_id=0, start=today, end=today)
        expected = sum(
            1 for r in Response.objects.all() if timezone.localdate(r.submitted_at) == today
        )
        assert summed(totals, Metric.RESPONSES).n == expected < len(answers)


def test_negative_aspects_are_counted_by_name(world, answers):
    with tenant_context(world.tenant):
        totals = metric_totals(org_unit_id=0, **window())
        mentions = sum(
            1
            for score in ResponseScore.objects.all()
            for aspect in score.aspects
            if aspect["aspect"] == "服务态度" and aspect["polarity"] == "negative"
        )
    assert mentions > 0
    assert summed({k: v for k, v in totals.items() if k[2] == "服务态度"}, Metric.ASPECT).n == (
        mentions
    )


def test_a_rescore_replaces_what_the_response_counted(world, answers):
    with tenant_context(world.tenant):
        before = metric_totals(org_unit_id=world.region.pk, **window())
        ResponseScore.objects.update(model_version="an older model")
        for response in answers:
            response_score(response_id=response.pk)
        assert metric_totals(org_unit_id=world.region.pk, **window()) == before


def test_a_ticket_counts_once_for_its_response(world, answers):
    with tenant_context(world.tenant):
        tickets = Ticket.objects.count()
        assert tickets > 0
        totals = metric_totals(org_unit_id=0, **window())
        assert summed(totals, Metric.TICKETS).n == tickets


def test_a_rebuild_writes_the_rows_scoring_kept(world, answers):
    def rows():
        return {
            (r.day, r.touchpoint_id, r.org_unit_id, r.metric, r.key): (r.n, r.good, r.bad)
            for r in MetricDaily.objects.exclude(n=0)
        }

    with tenant_context(world.tenant):
        kept = rows()
        assert metric_rollups_rebuild() == len(kept)
        assert rows() == kept


def test_another_tenants_rollups_are_not_read(world, other_world, answers):
    answered(
        other_world,
        nps=0,
        text="太差了",
        org_unit=other_world.branch,
        touchpoint=other_world.touchpoint,
        ago=timedelta(0),
    )
    with tenant_context(world.tenant):
        assert summed(metric_totals(org_unit_id=0, **window()), Metric.RESPONSES).n == len(answers)
        assert metric_totals(org_unit_id=other_world.branch.pk, **window()) == {}


def test_a_moved_branch_counts_in_its_new_region_after_the_recount(
    world, answers, eager_tasks, django_capture_on_commit_callbacks
):
    from django.contrib.auth import get_user_model

    from organizations.models import OrgUnit
    from organizations.org_units import org_unit_move
    from organizations.services import org_unit_create

    owner = get_user_model().objects.get(username=f"{world.tenant.slug}-owner")
    with tenant_context(world.tenant):
        south = org_unit_create(
            name="华南区", code="SOUTH", kind=OrgUnit.Kind.REGION, parent=world.hq
        )
        at_branch = raw_nps(world.branch.path)
        assert at_branch.n > 0
        with django_capture_on_commit_callbacks(execute=True):  # the recount follows the commit
            org_unit_move(unit=world.branch, parent=south, by=owner)
        south.refresh_from_db()
        assert summed(metric_totals(org_unit_id=south.pk, **window()), Metric.NPS) == at_branch
        region = OrgUnit.objects.get(pk=world.region.pk)
        assert summed(metric_totals(org_unit_id=region.pk, **window()), Metric.NPS) == raw_nps(
            region.path
        )
