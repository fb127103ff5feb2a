"""The respondent's page: Chinese by default, English on request, clear errors that keep
what was entered, one response per submission, closed surveys say so."""

import re

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from organizations.tenancy import tenant_context
from surveys.models import Response
from surveys.services import survey_close
from tests.helpers import respondent_post


def page_url(world):
    return reverse("respond", args=[world.link.token])


def form(**answers):
    return {
        "page": "p1",
        **{f"q_{key}": value for key, value in answers.items()},
    }


def test_page_is_in_chinese_by_default_and_works_as_a_plain_form(client, world):
    page = client.get(page_url(world)).content.decode()
    assert "您有多大可能向朋友推荐我们？" in page
    assert 'method="post"' in page and "<script" not in page  # no logic here, so no script


def test_page_speaks_english_when_the_browser_asks(client, world):
    page = client.get(page_url(world), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "How likely are you to recommend us?" in page


def test_valid_answers_are_stored_and_the_respondent_is_thanked(client, world):
    reply = respondent_post(
        client, page_url(world), form(nps_1="9", csat_1="5", multiple_choice_1=["o1", "o3"])
    )
    assert reply.status_code == 302
    assert reply["Location"] == reverse("respond_thanks", args=[world.link.token])
    with tenant_context(world.tenant):
        response = Response.objects.get()
    assert response.answers == {"nps_1": 9, "csat_1": 5, "multiple_choice_1": ["o1", "o3"]}
    assert response.org_unit_id == world.branch.pk
    assert response.touchpoint_id == world.touchpoint.pk


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"csat_1": "5"}, "此题为必答题"),
        ({"nps_1": "12", "csat_1": "5"}, "0 到 10"),
        ({"nps_1": "8", "csat_1": "5", "text_1": "慢" * 2001}, "内容太长"),
    ],
)
def test_bad_input_gets_a_clear_message_and_keeps_what_was_entered(client, world, answers, message):
    long_text = answers.get("text_1", "")
    reply = respondent_post(client, page_url(world), form(**answers, single_choice_1="o2"))
    page = reply.content.decode()
    assert reply.status_code == 200
    assert message in page
    assert 'value="o2" checked' in page
    assert 'value="5" checked' in page
    if long_text:
        assert long_text in page
    with tenant_context(world.tenant):
        assert not Response.objects.exists()


def test_a_double_submit_stores_one_response(client, world):
    first = respondent_post(client, page_url(world), form(nps_1="9", csat_1="4"))
    same_form_again = client.post(page_url(world), first.wsgi_request.POST)
    assert first.status_code == same_form_again.status_code == 302
    with tenant_context(world.tenant):
        assert Response.objects.count() == 1


def test_a_new_respondents_page_is_stored_without_reading_for_a_stored_response(client, world):
    page = client.get(page_url(world)).content.decode()
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    assert hidden["unsaved"] == "1"  # rendered with nothing stored under its resume key
    with CaptureQueriesContext(connection) as queries:
        reply = client.post(page_url(world), {**hidden, **form(nps_1="9", csat_1="4")})
    assert reply.status_code == 302
    statements = [query["sql"] for query in queries.captured_queries]
    assert not [sql for sql in statements if 'FROM "surveys_response"' in sql]
    assert [sql for sql in statements if 'INSERT INTO "surveys_response"' in sql]
    with tenant_context(world.tenant):
        assert Response.objects.count() == 1


def test_closed_survey_says_so(client, world):
    with tenant_context(world.tenant):
        survey_close(survey=world.survey, by=world.manager)
    reply = client.get(page_url(world))
    assert reply.status_code == 410
    assert "该问卷已关闭" in reply.content.decode()


def test_unknown_link_is_404(client, db):
    assert client.get(reverse("respond", args=["no-such-token"])).status_code == 404


@override_settings(CEM_PUBLIC_SUBMIT_RATE=2)
def test_submissions_are_rate_limited_per_client(client, world):
    codes = [
        respondent_post(client, page_url(world), form(nps_1="9", csat_1="4")).status_code
        for _ in range(4)
    ]
    assert codes[:2] == [302, 302] and codes[-1] == 429
