"""The async path on real components: HTTP -> PostgreSQL -> Redis -> Celery worker -> ticket,
and a broker outage that delays scoring but loses nothing."""

import contextlib
import json
import urllib.request
from datetime import timedelta

import pytest
from celery import current_app as app

import organizations.broker
from alerts.models import Ticket
from analytics.models import ResponseScore
from analytics.services import unscored_responses_enqueue
from organizations.tenancy import system_context
from tests.conftest import require_real_services, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_real_services():
    require_real_services()


def post_response(live_server, world, answers: dict, submission_id: str) -> dict:
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/surveys/{world.survey.pk}/responses/",
        data=json.dumps({"answers": answers, "client_submission_id": submission_id}).encode(),
        headers={
            "Authorization": f"Api-Key {world.api_key_plaintext}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        assert reply.status == 201
        return json.loads(reply.read())


def in_system(read):
    """The worker wrote these rows in its own process; the test reads them across tenants."""
    with system_context():
        return read()


def scored_with_ticket(response_id: int):
    with system_context():
        score = ResponseScore.all_tenants.filter(response_id=response_id).first()
        ticket = Ticket.all_tenants.filter(response_id=response_id).first()
    return (score, ticket) if score and ticket else None


BAD = {"nps_1": 1, "csat_1": 1, "text_1": "客服电话一直打不通，问题拖了一个月都没解决，非常失望"}


def test_response_submitted_over_http_is_scored_by_the_worker_and_opens_a_ticket(
    live_server, world, celery_worker_process
):
    body = post_response(live_server, world, BAD, "http-1")
    score, ticket = wait_until(lambda: scored_with_ticket(body["id"]), timeout=60)
    assert score.nps_category == "detractor" and score.sentiment_label == "negative"
    assert ticket.org_unit_id == world.branch.pk and ticket.status == "open"


@contextlib.contextmanager
def broker_unreachable():
    """Point the Celery app (shared by the live server thread) at a port where nothing listens."""
    real_url = app.conf.broker_url

    def reconnect(url):
        app.conf.broker_url = url
        app._pool = None
        app.amqp._producer_pool = None
        organizations.broker._broker_down_until = 0.0  # forget the outage the breaker remembers

    reconnect("redis://127.0.0.1:9/0")
    try:
        yield
    finally:
        reconnect(real_url)


def test_response_submitted_while_the_broker_is_down_is_scored_once_the_sweeper_runs(
    live_server, world, celery_worker_process, caplog
):
    with broker_unreachable():
        body = post_response(live_server, world, BAD, "outage-1")
    assert "could not enqueue analytics.tasks.score_waiting_responses" in caplog.text
    with system_context():
        assert not ResponseScore.all_tenants.filter(response_id=body["id"]).exists()
    assert unscored_responses_enqueue(older_than=timedelta(0)) == 1
    score, ticket = wait_until(lambda: scored_with_ticket(body["id"]), timeout=60)
    assert score.nps == 1 and ticket.number == 1


def test_an_event_over_http_is_processed_by_the_worker_and_the_invitation_sent(
    live_server, world, celery_worker_process
):
    from customers.models import ContactPolicy
    from organizations.models import OutboundMessage
    from organizations.tenancy import tenant_context
    from surveys.distribution import trigger_create
    from surveys.models import Invitation

    with tenant_context(world.tenant):
        ContactPolicy.objects.create(quiet_hours_start=0, quiet_hours_end=0)
        trigger_create(
            survey=world.survey,
            event_type="account.opened",
            touchpoint=None,
            channel="sms",
            delay_minutes=0,
            conditions={},
            by=world.manager,
        )

    def post_event(event_id: str) -> str:
        body = {
            "id": event_id,
            "type": "account.opened",
            "customer": {"id": "C9", "mobile": "13900000000"},
            "properties": {},
        }
        request = urllib.request.Request(
            f"{live_server.url}/api/v1/events/",
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Authorization": f"Api-Key {world.api_key_plaintext}",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.loads(reply.read())["results"][0]["status"]

    assert post_event("evt-1") == "accepted"
    sent = OutboundMessage.all_tenants.filter(recipient="13900000000")
    message = wait_until(lambda: in_system(sent.first), timeout=60)
    assert "/s/" in message.body and message.status == "sent"
    # The same customer again within the policy's window: the worker records the suppression.
    assert post_event("evt-2") == "accepted"
    suppressed = Invitation.all_tenants.filter(event_id="evt-2", status="suppressed")
    second = wait_until(lambda: in_system(suppressed.first), timeout=60)
    assert second.suppressed_reason == "frequency"
    assert in_system(sent.count) == 1


@contextlib.contextmanager
def broker_of_its_own(db: int = 13):
    """Point the Celery app at an empty Redis database that no worker consumes."""
    import redis

    real_url = app.conf.broker_url
    url = real_url.rsplit("/", 1)[0] + f"/{db}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield client
    finally:
        client.flushdb()
        app.conf.broker_url = real_url
        app._pool = None
        app.amqp._producer_pool = None


def test_responses_handed_over_wait_in_one_list_with_one_task_to_take_them():
    """publish_batched costs a request one Redis round trip; a task is published only when
    the list was empty, and a task that leaves items behind publishes another."""
    from analytics.tasks import SCORING_BATCH, score_waiting_responses
    from organizations.broker import BATCH_KEY_PREFIX, publish_batched, take_batch

    waiting_list = BATCH_KEY_PREFIX + score_waiting_responses.name
    with broker_of_its_own() as broker:
        for response_id in range(1, SCORING_BATCH + 6):
            assert publish_batched(score_waiting_responses, response_id)
        assert broker.llen(waiting_list) == SCORING_BATCH + 5
        assert broker.llen("scoring") == 1  # one task for the whole backlog
        assert take_batch(score_waiting_responses, SCORING_BATCH) == list(
            range(1, SCORING_BATCH + 1)
        )
        assert broker.llen("scoring") == 2  # items were left: another task takes them
        assert take_batch(score_waiting_responses, SCORING_BATCH) == list(
            range(SCORING_BATCH + 1, SCORING_BATCH + 6)
        )
        assert broker.llen("scoring") == 2 and broker.llen(waiting_list) == 0
        assert publish_batched(score_waiting_responses, 99)
        assert broker.llen("scoring") == 3  # the list was empty again: a new task
