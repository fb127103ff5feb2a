"""The partner REST API: key authentication, journeys, surveys, responses, tickets, errors."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from organizations.models import ApiKey
from organizations.services import api_key_revoke
from organizations.tenancy import tenant_context
from surveys.api import ResponseOutput
from surveys.models import Response
from surveys.selectors import response_list
from tests.helpers import BAD_ANSWERS, submit_and_score


@pytest.fixture
def api(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {world.api_key_plaintext}")
    return client


def submit(api, world, **body):
    return api.post(f"/api/v1/surveys/{world.survey.pk}/responses/", body, format="json")


def test_requests_without_a_key_get_401_json(client, world):
    reply = client.get("/api/v1/surveys/")
    assert reply.status_code == 401
    assert reply.json()["error"]["message"]
    assert reply["WWW-Authenticate"] == "Api-Key"


@pytest.mark.parametrize("key", ["cem_nope_nope", "garbage", "cem_"])
def test_wrong_keys_get_401(world, key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.get("/api/v1/surveys/").status_code == 401


def test_a_revoked_key_stops_working(api, world):
    with tenant_context(world.tenant):
        api_key_revoke(api_key=world.api_key, by=world.manager)
    assert api.get("/api/v1/surveys/").status_code == 401


def test_keys_are_stored_hashed_and_record_last_use(api, world):
    assert api.get("/api/v1/journeys/").status_code == 200
    with tenant_context(world.tenant):
        key = ApiKey.objects.get(pk=world.api_key.pk)
    secret = world.api_key_plaintext.split("_", 2)[2]  # the secret may itself hold "_"
    assert secret not in key.secret_hash
    assert key.last_used_at is not None


def test_journeys_list_nests_stages_and_touchpoints(api, world):
    journeys = api.get("/api/v1/journeys/").json()["results"]
    assert journeys[0]["stages"][0]["touchpoints"][0]["code"] == "counter"
    touchpoints = api.get("/api/v1/touchpoints/").json()["results"]
    assert touchpoints[0]["org_unit"] == "SH-PD"


def test_survey_detail_carries_the_live_definition(api, world):
    survey = api.get(f"/api/v1/surveys/{world.survey.pk}/").json()
    assert survey["status"] == "published" and survey["version"] == 1
    keys = [q["key"] for page in survey["definition"]["pages"] for q in page["questions"]]
    assert keys[:2] == ["nps_1", "csat_1"]


def test_submitting_a_response_with_customer_and_extra_fields(api, world):
    body = {
        "answers": {"nps_1": 9, "csat_1": 5},
        "external_customer_id": "C-001",
        "extra": {"order_id": "A-17"},
        "client_submission_id": "crm-1",
        "org_unit": "HZ-XH",
    }
    reply = submit(api, world, **body)
    assert reply.status_code == 201, reply.json()
    stored = reply.json()
    assert stored["external_customer_id"] == "C-001" and stored["extra"] == {"order_id": "A-17"}
    assert stored["org_unit"] == "HZ-XH" and stored["touchpoint"] == "counter"
    again = submit(api, world, **body)  # a retry of the same body answers what was stored
    assert again.status_code == 200 and again.json()["id"] == stored["id"]


@pytest.mark.parametrize(
    "routing",
    [
        {},
        {"org_unit": "HZ-XH"},
        {"touchpoint": "counter"},
        {"touchpoint": "counter", "org_unit": "SH-PD"},
    ],
)
def test_a_new_response_is_answered_as_reading_it_back_would(api, world, settings, routing):
    """The answer to a new submission is built without reading the response back; it must
    say what ResponseOutput says of the stored row (unscored yet: no scores, no tickets)."""
    settings.CELERY_TASK_ALWAYS_EAGER = False  # the worker scores after commit, not in-request
    body = {
        "answers": {"nps_1": 3, "csat_1": 2},
        "external_customer_id": "C-002",
        "extra": {"order_id": "A-18"},
        "client_submission_id": f"crm-routing-{len(routing)}",
        "language": "en",
        "submitted_at": "2026-11-30T09:15:00+08:00",
        **routing,
    }
    reply = submit(api, world, **body)
    assert reply.status_code == 201, reply.json()
    with tenant_context(world.tenant):
        stored = response_list().select_related("version").get(pk=reply.json()["id"])
        assert reply.json() == ResponseOutput(stored).data


def test_a_replay_with_another_body_is_refused_and_keeps_the_first(api, world):
    """Idempotency as Stripe keeps it: the same key with a different body is a client bug."""
    first = submit(
        api, world, answers={"nps_1": 10, "csat_1": 5}, client_submission_id="crm-20261201-0001"
    )
    assert first.status_code == 201
    other = submit(
        api, world, answers={"nps_1": 0, "csat_1": 1}, client_submission_id="crm-20261201-0001"
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"
    with tenant_context(world.tenant):
        assert [r.answers["nps_1"] for r in Response.objects.all()] == [10]


def test_bad_answers_get_400_naming_each_question(api, world):
    reply = submit(api, world, answers={"nps_1": 11, "bogus": 1})
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]["answers"]) == {"nps_1", "csat_1", "__all__"}


def test_malformed_bodies_get_400_not_500(api, world):
    assert submit(api, world, answers="nope").status_code == 400
    assert submit(api, world, answers={"nps_1": 5}, touchpoint="nowhere").status_code == 400
    reply = api.post(
        f"/api/v1/surveys/{world.survey.pk}/responses/",
        "{not json",
        content_type="application/json",
    )
    assert reply.status_code == 400 and reply.json()["error"]["message"]


def test_a_closed_survey_answers_409(api, world):
    world.survey.closes_at = timezone.now()
    with tenant_context(world.tenant):
        world.survey.save()
    assert submit(api, world, answers={"nps_1": 5, "csat_1": 3}).status_code == 409


def test_reading_a_response_with_its_scores_and_tickets(api, world):
    response = submit_and_score(world, BAD_ANSWERS)
    body = api.get(f"/api/v1/responses/{response.pk}/").json()
    assert body["scores"]["nps_category"] == "detractor"
    assert body["scores"]["sentiment"] == "negative"
    assert body["ticket_numbers"] == [1]


def test_listing_and_updating_tickets(api, world):
    submit_and_score(world, BAD_ANSWERS)
    tickets = api.get("/api/v1/tickets/?status=open").json()["results"]
    assert [ticket["number"] for ticket in tickets] == [1]
    assert api.patch("/api/v1/tickets/1/", {"action": "claim"}, format="json").json()["status"] == (
        "in_progress"
    )
    refused = api.patch("/api/v1/tickets/1/", {"action": "resolve"}, format="json")
    assert refused.status_code == 400 and "根本原因" in refused.json()["error"]["message"]
    resolved = api.patch(
        "/api/v1/tickets/1/",
        {"action": "resolve", "root_cause": world.root_cause.name, "note": "CRM 已回访"},
        format="json",
    )
    assert resolved.json()["status"] == "resolved"
    assert api.patch("/api/v1/tickets/1/", {}, format="json").status_code == 400
    assert api.get("/api/v1/tickets/?status=bogus").status_code == 400


def test_openapi_schema_and_docs_are_served(client, db):
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200 and b"openapi: 3" in schema.content
    assert b"/api/v1/surveys/{id}/responses/" in schema.content
    assert client.get("/api/v1/docs/").status_code == 200


def test_response_scores_carry_aspects_risk_flags_and_topics(api, world):
    response = submit_and_score(
        world, {"nps_1": 3, "csat_1": 2, "text_1": "服务态度很好，但是排队太久了，我要去12315投诉"}
    )
    scores = api.get(f"/api/v1/responses/{response.pk}/").json()["scores"]
    assert {"aspect": "等待时间", "polarity": "negative"}.items() <= next(
        a for a in scores["aspects"] if a["aspect"] == "等待时间"
    ).items()
    assert scores["risk_flags"] == [{"flag": "regulator", "term": "12315"}]
    assert scores["topics"] == []
