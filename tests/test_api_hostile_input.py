"""Hostile input on the partner API: every bad value is a 4xx in the error shape, nothing is
stored, and nothing reaches PostgreSQL's JSON to make it fail (issue 9)."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from integrations.models import InboundEvent
from organizations.json_input import json_input_problem
from organizations.tenancy import tenant_context
from surveys.models import Response
from tests.helpers import BAD_ANSWERS, submit_and_score

NUL = "\x00"
LONE_SURROGATE = "\ud800"


@pytest.fixture(autouse=True)
def _own_cache(local_cache):
    """Throttle counters of this module's requests start at zero."""


@pytest.fixture
def api(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {world.api_key_plaintext}")
    return client


def post_raw(api, path: str, body: str | bytes):
    return api.post(path, body, content_type="application/json")


def assert_error_shape(reply, status: int, code: str | None = None) -> dict:
    assert reply.status_code == status, reply.content[:300]
    assert reply["Content-Type"].startswith("application/json")
    error = reply.json()["error"]
    assert error["message"]
    if code:
        assert error["code"] == code
    return error


def responses_stored(world) -> int:
    with tenant_context(world.tenant):
        return Response.objects.count()


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# The checker shared by the API, the respondent form and services.


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ({"a": ["ok", {"b": "x" + NUL}]}, "a[1].b: text may not contain the NUL"),
        ({"key" + NUL: 1}, "a key's text may not contain the NUL"),
        ({"text": "half " + LONE_SURROGATE}, "unpaired surrogate (\\ud800)"),
        ({"n": float("nan")}, "finite"),
        ({"n": float("inf")}, "finite"),
        ({"n": 2**63}, "2^63"),
        ({"n": -(2**63) - 1}, "2^63"),
        ({"when": object()}, "not a JSON value"),
    ],
)
def test_json_input_problem_names_the_refused_value_and_where_it_is(value, fragment):
    assert fragment in json_input_problem(value)


def test_json_input_problem_accepts_ordinary_json_and_paired_surrogates():
    value = json.loads('{"t": "排队 \\ud83d\\ude00", "n": [1, 2.5, -3, true, null], "x": 1e308}')
    assert json_input_problem(value) is None
    assert json_input_problem({"n": 2**63 - 1}) is None


def test_json_input_problem_refuses_deep_nesting_without_recursion():
    value = current = []
    for _ in range(100_000):
        current.append([])
        current = current[0]
    assert "nested deeper than 32" in json_input_problem(value)
    assert json_input_problem(json.loads(nested(32))) is None
    assert json_input_problem(json.loads(nested(4)), max_depth=3) is not None


# The API's body parser.


UNSTORABLE_SUBMISSIONS = [
    '{"answers": {"nps_1": 5, "text_1": "bad \\u0000"}, "client_submission_id": "nul-1"}',
    '{"answers": {"nps_1": 5}, "extra": {"note": "a\\u0000b"}}',
    '{"answers": {"nps_1": 5}, "extra": {"k\\u0000": 1}}',
    '{"answers": {"nps_1": 5}, "external_customer_id": "C\\u0000"}',
    '{"answers": {"nps_1": 5, "text_1": "\\ud800"}}',
    '{"answers": {"nps_1": 5}, "extra": {"x": NaN}}',
    '{"answers": {"nps_1": 5}, "extra": {"x": Infinity}}',
    '{"answers": {"nps_1": 5}, "extra": {"x": -Infinity}}',
    '{"answers": {"nps_1": 5}, "extra": {"x": 1e400}}',
    '{"answers": {"nps_1": 5}, "extra": {"x": 1e999}}',
    '{"answers": {"nps_1": 5}, "extra": {"x": 99999999999999999999999}}',
    '{"answers": {"nps_1": 1e400}}',
    '{"answers": {"nps_1": 5}, "extra": {"deep": ' + nested(1000) + "}}",
    '{"answers": {"nps_1": 5}, "extra": {"deep": ' + nested(40) + "}}",
    '{"answers": {"nps_1": 5}, "extra": {"x": 1' + "0" * 5000 + "}}",
    b'{"answers": {"nps_1": 5}, "extra": {"x": "\xff\xfe"}}',
]


def test_submissions_with_unstorable_values_get_400_and_store_nothing(api, world):
    for body in UNSTORABLE_SUBMISSIONS:
        reply = post_raw(api, f"/api/v1/surveys/{world.survey.pk}/responses/", body)
        assert_error_shape(reply, 400, "parse_error")
    assert responses_stored(world) == 0


def test_events_with_unstorable_properties_get_400_and_store_nothing(api, world):
    for properties in ['{"x": "\\u0000"}', '{"x": NaN}', '{"x": 1e400}', '{"x": "\\udfff"}']:
        body = (
            '{"id": "e-1", "type": "account.opened", "customer": {"id": "C1"}, '
            f'"properties": {properties}}}'
        )
        assert_error_shape(post_raw(api, "/api/v1/events/", body), 400, "parse_error")
        batch = f"[{body}, {body.replace('e-1', 'e-2')}]"
        assert_error_shape(post_raw(api, "/api/v1/events/", batch), 400, "parse_error")
    with tenant_context(world.tenant):
        assert not InboundEvent.objects.exists()


def test_ticket_notes_and_invitations_refuse_nul_too(api, world):
    submit_and_score(world, BAD_ANSWERS)
    reply = api.patch("/api/v1/tickets/1/", '{"note": "x\\u0000"}', content_type="application/json")
    assert_error_shape(reply, 400, "parse_error")
    reply = post_raw(
        api,
        f"/api/v1/surveys/{world.survey.pk}/invitations/",
        '{"channel": "sms", "customers": [{"id": "C\\u0000"}]}',
    )
    assert_error_shape(reply, 400, "parse_error")


def test_the_api_accepts_json_only(api, world):
    path = f"/api/v1/surveys/{world.survey.pk}/responses/"
    form = api.post(path, {"answers": "x"}, format="multipart")
    assert_error_shape(form, 415, "unsupported_media_type")
    urlencoded = api.post(path, "answers=x", content_type="application/x-www-form-urlencoded")
    assert_error_shape(urlencoded, 415, "unsupported_media_type")
    assert responses_stored(world) == 0


def test_an_ordinary_submission_with_chinese_and_emoji_is_still_stored(api, world):
    reply = post_raw(
        api,
        f"/api/v1/surveys/{world.survey.pk}/responses/",
        json.dumps(
            {"answers": {"nps_1": 9, "csat_1": 5, "text_1": "很好 😀"}, "extra": {"x": 1.5}}
        ),
    )
    assert reply.status_code == 201, reply.json()
    assert reply.json()["answers"]["text_1"] == "很好 😀"


# Numbers in the query and the path.


LIST_PATHS = ["/api/v1/surveys/", "/api/v1/tickets/", "/api/v1/journeys/", "/api/v1/touchpoints/"]
BAD_PAGING = [
    "limit=9223372036854775808",
    "limit=0",
    "limit=-1",
    "limit=501",
    "limit=abc",
    "limit=1.5",
    "limit=",
    "offset=-1",
    "offset=9223372036854775808",
    "offset=x",
]


def test_lists_refuse_out_of_range_paging_with_400(api, world):
    for path in LIST_PATHS:
        for query in BAD_PAGING:
            error = assert_error_shape(api.get(f"{path}?{query}"), 400, "invalid")
            assert set(error["fields"]) == {query.split("=")[0]}


def test_lists_page_within_the_limits(api, world):
    assert api.get("/api/v1/surveys/?limit=500&offset=0").status_code == 200
    page = api.get("/api/v1/surveys/?limit=1").json()
    assert len(page["results"]) == 1 and page["count"] == 1


def test_ids_beyond_64_bits_are_404_not_500(api, world):
    for path in [
        "/api/v1/surveys/9223372036854775808/",
        "/api/v1/responses/9223372036854775808/",
        "/api/v1/tickets/99999999999999999999999/",
    ]:
        assert_error_shape(api.get(path), 404, "not_found")
    path = "/api/v1/surveys/99999999999999999999999/responses/"
    assert_error_shape(post_raw(api, path, '{"answers": {"nps_1": 5}}'), 404, "not_found")


# Answers Django itself gives under /api/.


def test_unknown_api_paths_answer_a_json_404(api, world):
    for path in ["/api/v1/nowhere/", "/api/v1/surveys/1/nowhere/", "/api/v2/surveys/"]:
        assert_error_shape(api.get(path), 404, "not_found")
    assert b"<html" in Client().get("/no-such-page/").content.lower()


def test_an_unexpected_exception_under_the_api_answers_a_json_500(world, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("surveys.api.survey_list", explode)
    client = Client(raise_request_exception=False)
    reply = client.get("/api/v1/surveys/", HTTP_AUTHORIZATION=f"Api-Key {world.api_key_plaintext}")
    error = assert_error_shape(reply, 500, "server_error")
    assert "boom" not in error["message"]


# What schemathesis found: values the schema types one way and DRF took another.


def test_text_fields_refuse_numbers_and_date_times_stay_in_1970_to_2099(api, world):
    path = f"/api/v1/surveys/{world.survey.pk}/responses/"
    answers = {"nps_1": 9, "csat_1": 5}
    for field, value in [
        ("external_customer_id", 7),
        ("client_submission_id", 1.5),
        ("touchpoint", True),
        ("submitted_at", "0769-07-31T13:52:36Z"),
        ("submitted_at", "2100-01-01T00:00:00Z"),
    ]:
        error = assert_error_shape(
            api.post(path, {"answers": answers, field: value}, format="json"), 400
        )
        assert set(error["fields"]) == {field}
    invitations = f"/api/v1/surveys/{world.survey.pk}/invitations/"
    for body in [
        {"channel": "sms", "customers": []},
        {"channel": "sms", "customers": [{"id": "C1", "name": 0}]},
        {"channel": "sms", "customers": [{"id": "C1", "mobile": 13800138000}]},
        {"channel": "sms", "customers": [{"id": "C1"}], "send_at": "0769-07-31T00:00:00Z"},
    ]:
        assert_error_shape(api.post(invitations, body, format="json"), 400, "invalid")
    assert responses_stored(world) == 0


def test_a_blank_ticket_status_filter_is_refused_not_ignored(api, world):
    assert_error_shape(api.get("/api/v1/tickets/?status="), 400, "invalid")
