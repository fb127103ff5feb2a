"""Scoring in batches (analytics.services.responses_score): a batch may hold several tenants'
responses and some already scored, runs as many queries for 20 responses as for 5, and leaves
the text and metric rollups and the tickets exactly as scoring each response alone would."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import Ticket, TicketEvent
from analytics.models import MetricDaily, ResponseScore, TextDaily, TextMention
from analytics.rollups import tallies_unpacked
from analytics.services import (
    metric_rollups_rebuild,
    response_score,
    responses_score,
    text_rollups_rebuild,
)
from analytics.tasks import score_waiting_responses
from organizations.tenancy import tenant_context
from surveys.models import Response

pytestmark = pytest.mark.usefixtures("midday")

TEXTS = ["柜员态度很差，排队太久了", "服务很好，办理很快", "", "App老是闪退，我要投诉到银保监会"]


def unscored(world, count: int, *, start: int = 0) -> list[Response]:
    """Complete responses of the world's survey, none scored yet: a mix of promoters and
    detractors, texts of every tone or none, over a few days and both branches."""
    units = [world.branch, world.other_branch, world.region, None]
    with tenant_context(world.tenant):
        rows = []
        for i in range(start, start + count):
            answers = {"nps_1": i % 11, "csat_1": 1 + i % 5}
            if TEXTS[i % len(TEXTS)]:
                answers["text_1"] = TEXTS[i % len(TEXTS)]
            rows.append(
                Response(
                    tenant=world.tenant,
                    survey=world.survey,
                    version=world.survey.live_version,
                    touchpoint=world.touchpoint if i % 3 else None,
                    org_unit=units[i % len(units)],
                    answers=answers,
                    submitted_at=timezone.now() - timedelta(days=i % 4, hours=i % 7),
                    status=Response.Status.COMPLETE,
                )
            )
        return Response.objects.bulk_create(rows)


def ids(responses: list[Response]) -> list[int]:
    return [response.pk for response in responses]


def rollups(world) -> tuple[dict, dict]:
    """The tenant's text and metric rollup rows, zero rows left out."""
    with tenant_context(world.tenant):
        text = {
            tuple(place): (count, scored)
            for *place, count, _score_sum, scored in tallies_unpacked(TextDaily.objects.all())
        }
        metric = {
            (r.day, r.touchpoint_id, r.org_unit_id, r.metric, r.key): (r.n, r.good, r.bad)
            for r in MetricDaily.objects.exclude(n=0)
        }
    return text, metric


def rebuilt(world) -> tuple[dict, dict]:
    """What a recount from the raw scores gives."""
    with tenant_context(world.tenant):
        text_rollups_rebuild()
        metric_rollups_rebuild()
    return rollups(world)


def test_a_batch_of_two_tenants_scores_each_in_its_own_rows(world, other_world):
    ours, theirs = unscored(world, 6), unscored(other_world, 4, start=6)
    scores = responses_score(response_ids=ids(ours[:3] + theirs + ours[3:]))
    assert set(scores) == set(ids(ours + theirs))
    for place, responses in ((world, ours), (other_world, theirs)):
        with tenant_context(place.tenant):
            assert ResponseScore.objects.count() == len(responses)
            assert {s.tenant_id for s in scores.values() if s.response_id in ids(responses)} == {
                place.tenant.pk
            }
            assert set(Ticket.objects.values_list("response_id", flat=True)) <= set(ids(responses))
            assert set(TextMention.objects.values_list("score__response_id", flat=True)) <= set(
                ids(responses)
            )
        kept = rollups(place)
        assert kept == rebuilt(place)


def test_a_batch_holding_a_scored_response_counts_it_once(world):
    responses = unscored(world, 8)
    response_score(response_id=responses[0].pk)
    once = rollups(world)
    responses_score(response_ids=ids(responses))
    responses_score(response_ids=ids(responses))  # all of it again: nothing changes
    with tenant_context(world.tenant):
        assert ResponseScore.objects.count() == len(responses)
        tickets = Ticket.objects.count()
        assert tickets == len(set(Ticket.objects.values_list("response_id", flat=True)))
        assert TicketEvent.objects.filter(kind=TicketEvent.Kind.CREATED).count() == tickets
        numbers = sorted(Ticket.objects.values_list("number", flat=True))
    assert numbers == list(range(1, tickets + 1))
    assert rollups(world) == rebuilt(world) != once


def test_a_batch_rescored_by_a_new_model_counts_each_response_once(world):
    responses = unscored(world, 12)
    responses_score(response_ids=ids(responses))
    kept = rollups(world)
    with tenant_context(world.tenant):
        ResponseScore.objects.filter(
            pk__in=[s.pk for s in ResponseScore.objects.all()][::2]
        ).update(model_version="an older model")
    responses_score(response_ids=ids(responses))
    assert rollups(world) == kept == rebuilt(world)


def queries_to_score(responses: list[Response]) -> int:
    with CaptureQueriesContext(connection) as queries:
        responses_score(response_ids=ids(responses))
    return len(queries)


def test_a_batch_of_20_runs_as_many_queries_as_a_batch_of_5(world):
    five, twenty = unscored(world, 5), unscored(world, 20, start=5)
    with tenant_context(world.tenant):
        # Warm the tenant's compiled dictionary and number the terms of its texts, as a
        # worker's first batches do (a term new to the tenant costs two queries once).
        responses_score(response_ids=ids(unscored(world, len(TEXTS), start=96)))
    small = queries_to_score(five)
    assert queries_to_score(twenty) == small
    with tenant_context(world.tenant):
        assert Ticket.objects.filter(response__in=five).exists()
        assert Ticket.objects.filter(response__in=twenty).count() > 5


def test_the_task_scores_a_batch_and_the_rollups_equal_the_raw_counts(world, other_world):
    responses = unscored(world, 15) + unscored(other_world, 5, start=15)
    score_waiting_responses(ids(responses))
    with tenant_context(world.tenant):
        assert ResponseScore.objects.count() == 15
    for place in (world, other_world):
        assert rollups(place) == rebuilt(place)
    if connection.vendor == "postgresql":
        from bench.rollup_check import rollups_check

        check = rollups_check()
        assert check.metric_rows > 0 and check.text_rows > 0
        assert check.equal, check.line()
        with tenant_context(world.tenant):  # and the check does see a miscount
            MetricDaily.objects.filter(pk=MetricDaily.objects.first().pk).update(n=999)
        assert rollups_check().metric_differing == 1


def test_a_response_deleted_before_its_batch_is_left_out(world):
    responses = unscored(world, 3)
    with tenant_context(world.tenant):
        Response.objects.filter(pk=responses[1].pk).delete()
    scores = responses_score(response_ids=ids(responses))
    assert set(scores) == {responses[0].pk, responses[2].pk}


@pytest.mark.django_db(transaction=True)
def test_a_response_another_worker_scores_meanwhile_keeps_its_score_and_counts_once(world):
    """Another worker scores one of the batch's responses and holds its transaction until the
    batch waits on it; then it commits, and the batch keeps its score and scores the rest."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locks")
    responses = unscored(world, 4)
    scored = threading.Event()
    release = threading.Event()
    failures = []

    def in_thread(action) -> None:
        try:
            action()
        except Exception as error:  # reported by the main thread
            failures.append(error)
        finally:
            scored.set()
            connection.close()

    def other_worker() -> None:
        with transaction.atomic():
            responses_score(response_ids=[responses[1].pk])
            scored.set()
            assert release.wait(30)

    other = threading.Thread(target=in_thread, args=(other_worker,))
    other.start()
    assert scored.wait(30)
    batch = threading.Thread(
        target=in_thread, args=(lambda: responses_score(response_ids=ids(responses)),)
    )
    batch.start()
    deadline = timezone.now() + timedelta(seconds=30)
    with connection.cursor() as cursor:
        while timezone.now() < deadline:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                break
    waited = timezone.now() < deadline
    release.set()
    other.join(30)
    batch.join(30)
    assert not failures
    assert waited, "the batch never waited on the other worker"
    with tenant_context(world.tenant):
        assert ResponseScore.objects.count() == len(responses)
    assert rollups(world) == rebuilt(world)
