"""What respondents and partners send is never lost, never taken by someone else, and never a
500: resume keys apart from partner ids, the respondent form's own token, answers that cannot
be stored refused with a message, limits that slide and degrade open, and a health report."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

import organizations.ratelimit
from organizations.ratelimit import rate_limit_exceeded
from organizations.tenancy import tenant_context
from surveys.definition import AnswerError, answer_clean
from surveys.models import Response
from surveys.services import ResponseRejectedError, response_submit
from tests.conftest import require_real_services
from tests.helpers import respondent_post

PARTNER_ID = "crm-20261201-0001"


def page_url(world, **query):
    url = reverse("respond", args=[world.link.token])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def stored(world) -> list[Response]:
    with tenant_context(world.tenant):
        return list(Response.objects.order_by("pk"))


def test_a_respondent_cannot_take_a_partners_submission_id(client, world):
    reply = respondent_post(
        client, page_url(world, r=PARTNER_ID), {"page": "p1", "q_nps_1": "10", "q_csat_1": "5"}
    )
    assert reply.status_code == 302
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {world.api_key_plaintext}")
    partner = api.post(
        f"/api/v1/surveys/{world.survey.pk}/responses/",
        {"answers": {"nps_1": 0, "csat_1": 1}, "client_submission_id": PARTNER_ID},
        format="json",
    )
    assert partner.status_code == 201
    assert partner.json()["answers"]["nps_1"] == 0
    respondent, detractor = stored(world)
    assert respondent.answers["nps_1"] == 10 and respondent.resume_key != PARTNER_ID
    assert detractor.client_submission_id == PARTNER_ID and detractor.resume_key == ""


def test_a_resume_key_that_names_no_response_is_never_adopted(client, world):
    page = client.get(page_url(world, r="chosen-by-me")).content.decode()
    assert "chosen-by-me" not in page
    respondent_post(client, page_url(world, r="chosen-by-me"), {"page": "p1", "q_nps_1": "9"})
    assert all(response.resume_key != "chosen-by-me" for response in stored(world))


def test_a_form_the_server_cannot_vouch_for_saves_nothing_and_comes_back_filled(client, world):
    reply = client.post(
        page_url(world),
        {
            "page": "p1",
            "resume_key": "k1",
            "form_token": "forged",
            "q_nps_1": "3",
            "q_text_1": "柜台只开了一个窗口",
        },
    )
    assert reply.status_code == 400
    page = reply.content.decode()
    assert "页面已过期" in page and "柜台只开了一个窗口" in page and 'value="3" checked' in page
    assert stored(world) == []


def test_staff_forms_still_need_the_csrf_cookie(world):
    from django.test import Client

    from tests.test_alert_rules_editor import login

    client = Client(enforce_csrf_checks=True)
    login(client, world.manager)
    reply = client.post(reverse("survey_index", args=[world.tenant.slug]), {"name": "x"})
    assert reply.status_code == 403


def test_text_with_a_nul_character_gets_a_message_and_nothing_is_stored(client, world):
    reply = respondent_post(
        client,
        page_url(world),
        {"page": "p1", "q_nps_1": "3", "q_csat_1": "2", "q_text_1": "排队\x00太久"},
    )
    assert reply.status_code == 200
    assert "无法识别的字符" in reply.content.decode()
    assert all(response.status == "partial" for response in stored(world))


@pytest.mark.parametrize("text", ["\ud800", "a\x00b"])
def test_unstorable_text_through_the_service_is_rejected_per_question(world, text):
    with tenant_context(world.tenant), pytest.raises(ResponseRejectedError) as rejected:
        response_submit(survey=world.survey, raw_answers={"nps_1": 5, "csat_1": 3, "text_1": text})
    assert set(rejected.value.errors) == {"text_1"}
    assert stored(world) == []


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "1e400", "1e999", 10**400, float("nan")])
def test_a_number_answer_must_be_a_usable_number(raw):
    with pytest.raises(AnswerError):
        answer_clean({"key": "amount", "type": "number"}, raw)


def test_a_number_answer_within_range_is_kept():
    assert answer_clean({"key": "amount", "type": "number"}, "12.5") == 12.5


def test_health_reports_each_dependency(client, db):
    reply = client.get("/healthz")
    report = reply.json()
    assert reply.status_code == 200 and report["status"] == "ok"
    assert set(report["checks"]) == {"database", "redis", "broker"}
    assert report["checks"]["database"] == "ok"


class Clock:
    """Stands in for the time module inside organizations.ratelimit only."""

    def __init__(self, now: float):
        self.now = now

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now


@pytest.mark.parametrize("counts_in", ["process", "redis"])
def test_the_limit_slides_so_a_burst_across_a_window_boundary_does_not_pass_twice(
    monkeypatch, settings, counts_in
):
    if counts_in == "redis":
        require_real_services()
        settings.CEM_RATELIMIT_REDIS_URL = settings.REDIS_URL
    clock = Clock(1_000_020.0 - 0.5)  # half a second before a minute's boundary
    monkeypatch.setattr(organizations.ratelimit, "time", clock)
    address = f"10.0.0.{uuid.uuid4().int % 250}-{uuid.uuid4().hex}"  # counts of no earlier run

    def allowed(count: int) -> int:
        return sum(
            not rate_limit_exceeded(scope="t", key=address, limit=30, window_seconds=60)
            for _ in range(count)
        )

    assert allowed(30) == 30
    clock.now += 1.0  # the next fixed window has begun
    assert allowed(30) == 0
    clock.now += 120.0  # two windows on, the burst has slid out
    assert allowed(30) == 30
    if counts_in == "redis":  # counted there, not in this process for want of Redis
        import redis

        window = int(clock.now // 60)
        assert redis.Redis.from_url(settings.REDIS_URL).get(f"rl:t:{address}:{window}") == b"30"


def test_pages_allow_no_inline_script_and_only_respondent_pages_may_be_framed(client, world):
    from tests.factories import PASSWORD

    def directives(reply) -> set[str]:
        return {part.strip() for part in reply["Content-Security-Policy"].split(";")}

    respondent = client.get(page_url(world))
    assert {"script-src 'self'", "frame-ancestors *"} <= directives(respondent)
    assert "no-store" in respondent["Cache-Control"]  # it shows what the respondent entered
    assert "X-Frame-Options" not in respondent
    client.login(username=world.manager.username, password=PASSWORD)
    dashboard = client.get(reverse("dashboard", args=[world.tenant.slug]))
    assert {"script-src 'self'", "frame-ancestors 'none'"} <= directives(dashboard)
    assert dashboard["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    "path",
    [
        "/s/%00/",
        "/s/abc%00def/",
        "/s/{token}/?r=%00",
        "/s/{token}/?r=%ED%A0%80",
        "/s/{token}/?x=%00",
    ],
)
def test_nul_bytes_and_broken_characters_in_a_respondent_url_are_never_a_500(client, world, path):
    reply = client.get(path.format(token=world.link.token))
    assert reply.status_code in (200, 404)
