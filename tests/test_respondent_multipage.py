"""A multi-page survey answered page by page: progress, back, reload and resume, logic,
hidden fields, version pinning, and the closed/expired/quota-full/already-answered states."""

import copy
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from organizations.tenancy import tenant_context
from surveys import services
from surveys.models import Link, Response
from tests.helpers import respondent_post
from tests.test_survey_logic import LOGIC


@pytest.fixture
def survey(world):
    with tenant_context(world.tenant):
        survey = services.survey_create(
            name="多页问卷",
            touchpoint=world.touchpoint,
            by=world.manager,
            definition=copy.deepcopy(LOGIC),
        )
        services.survey_publish(survey=survey, by=world.manager)
        yield survey


def url_of(link, **query):
    url = reverse("respond", args=[link.token])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def responses(world):
    with tenant_context(world.tenant):
        return list(Response.objects.order_by("id"))


def test_pages_follow_the_logic_and_the_response_completes_at_the_end(client, world, survey):
    link = survey.links.get()
    first = client.get(url_of(link, store="SH01")).content.decode()
    assert "第 1 / 3 页" in first and 'name="h_store" value="SH01"' in first
    reply = respondent_post(client, url_of(link), {"page": "p1", "q_nps": "4", "h_store": "SH01"})
    assert reply.status_code == 302
    second = client.get(reply["Location"]).content.decode()
    assert "您给了 4 分，主要原因是？" in second  # piped
    assert "store_issue" in second  # shown for store SH01 only
    reply = respondent_post(client, url_of(link), {"page": "p2", "q_why": "排队太久"})
    client.get(reply["Location"])
    done = respondent_post(client, url_of(link), {"page": "p3"})
    assert done["Location"] == reverse("respond_thanks", args=[link.token])
    [response] = responses(world)
    assert response.status == "complete" and response.submitted_at is not None
    assert response.answers == {"nps": 4, "why": "排队太久"} and response.extra == {"store": "SH01"}
    assert response.page_path == ["p1", "p2", "p3"]


def test_a_first_page_posted_again_from_another_tab_goes_on_with_the_stored_response(
    client, world, survey
):
    link = survey.links.get()
    page = client.get(url_of(link)).content.decode()
    first_form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    assert first_form["unsaved"] == "1"
    assert client.post(url_of(link), {**first_form, "q_nps": "4"}).status_code == 302
    # The same first page, rendered before anything was stored, sent again with another answer.
    again = client.post(url_of(link), {**first_form, "q_nps": "3"})
    assert again.status_code == 302 and "r=" + first_form["resume_key"] in again["Location"]
    [response] = responses(world)
    assert response.answers == {"nps": 3} and response.page_path == ["p1", "p2"]


def test_a_promoter_skips_the_why_page(client, world, survey):
    link = survey.links.get()
    reply = respondent_post(client, url_of(link), {"page": "p1", "q_nps": "10"})
    assert "第 3 / 3 页" in client.get(reply["Location"]).content.decode()


def test_back_keeps_answers_and_reload_resumes_where_the_respondent_stopped(client, world, survey):
    link = survey.links.get()
    respondent_post(client, url_of(link), {"page": "p1", "q_nps": "5"})
    reloaded = client.get(url_of(link)).content.decode()
    assert "第 2 / 3 页" in reloaded
    back = respondent_post(client, url_of(link), {"page": "p2", "q_why": "写了一半", "back": "1"})
    page_one = client.get(back["Location"]).content.decode()
    assert "第 1 / 3 页" in page_one and 'value="5" checked' in page_one
    respondent_post(client, url_of(link), {"page": "p1", "q_nps": "5"})
    assert "写了一半" in client.get(url_of(link)).content.decode()
    assert responses(world)[0].status == "partial"


def test_a_browser_without_cookies_resumes_through_the_key_in_the_url(client, world, survey):
    link = survey.links.get()
    reply = respondent_post(client, url_of(link), {"page": "p1", "q_nps": "5"})
    client.cookies.clear()
    assert "第 2 / 3 页" in client.get(reply["Location"]).content.decode()


def test_errors_keep_the_respondent_on_the_page_with_what_they_entered(client, world, survey):
    link = survey.links.get()
    respondent_post(client, url_of(link), {"page": "p1", "q_nps": "3"})
    page = respondent_post(client, url_of(link), {"page": "p2", "q_why": "", "q_store_issue": "x"})
    assert "此题为必答题" in page.content.decode()
    assert responses(world)[0].page_path == ["p1", "p2"]


def test_respondents_finish_on_the_version_they_started(client, world, survey):
    link = survey.links.get()
    respondent_post(client, url_of(link), {"page": "p1", "q_nps": "3"})
    with tenant_context(world.tenant):
        services.survey_question_add(survey=survey, qtype="csat", text_zh="新题", required=True)
        services.survey_publish(survey=survey, by=world.manager)
    respondent_post(client, url_of(link), {"page": "p2", "q_why": "慢"})
    respondent_post(client, url_of(link), {"page": "p3"})
    [response] = responses(world)
    assert response.status == "complete" and response.version.number == 1


def test_a_personal_link_resumes_anywhere_and_then_says_already_answered(client, world, survey):
    with tenant_context(world.tenant):
        link = services.link_create(survey=survey, kind=Link.Kind.PERSONAL)
    respondent_post(client, url_of(link), {"page": "p1", "q_nps": "10"})
    client.cookies.clear()
    assert "第 3 / 3 页" in client.get(url_of(link)).content.decode()
    respondent_post(client, url_of(link), {"page": "p3"})
    again = client.get(url_of(link))
    assert "已经填写过" in again.content.decode()


def test_one_response_per_device(client, world, survey):
    with tenant_context(world.tenant):
        link = services.link_create(survey=survey)
        Link.objects.filter(pk=link.pk).update(one_response_per_device=True)
    respondent_post(client, url_of(link), {"page": "p1", "q_nps": "10"})
    respondent_post(client, url_of(link), {"page": "p3"})
    assert "已经填写过" in client.get(url_of(link)).content.decode()


def test_quota_full_expired_and_not_yet_open_each_say_so(client, world, survey):
    link = survey.links.get()
    survey.response_limit = 1
    survey.save()
    respondent_post(client, url_of(link), {"page": "p1", "q_nps": "10"})
    respondent_post(client, url_of(link), {"page": "p3"})
    client.cookies.clear()
    assert "足够的回答" in client.get(url_of(link)).content.decode()
    survey.response_limit = None
    survey.opens_at = timezone.now() + timezone.timedelta(days=1)
    survey.save()
    assert "尚未开始" in client.get(url_of(link)).content.decode()
    survey.opens_at = None
    survey.save()
    link.expires_at = timezone.now()
    link.save()
    assert client.get(url_of(link)).status_code == 410
    assert "已过期" in client.get(url_of(link)).content.decode()


@pytest.fixture
def same_page_logic_survey(world):
    from surveys.library import TEMPLATES

    with tenant_context(world.tenant):
        survey = services.survey_create(
            name="通话后回访",
            touchpoint=world.touchpoint,
            by=world.manager,
            definition=TEMPLATES["after_call_csat"].definition("通话后回访"),
        )
        services.survey_publish(survey=survey, by=world.manager)
        yield survey


def test_a_condition_on_the_same_page_is_decided_by_the_server_on_submit(
    client, world, same_page_logic_survey
):
    link = same_page_logic_survey.links.get()
    page = client.get(url_of(link)).content.decode()
    assert "data-display" in page and "cem-survey.js" in page  # shown; the browser may hide it
    respondent_post(
        client, url_of(link), {"page": "p1", "q_csat": "5", "q_resolved": "o1", "q_reason": "很好"}
    )
    client.cookies.clear()
    respondent_post(
        client,
        url_of(link),
        {"page": "p1", "q_csat": "2", "q_resolved": "o3", "q_reason": "没解决"},
    )
    first, second = responses(world)
    assert "reason" not in first.answers  # csat 5: the question was not asked
    assert second.answers["reason"] == "没解决"
