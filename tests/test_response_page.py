"""The response page: one response with its answers, scores, text analysis and tickets, reached
from every verbatim; limited to the member's org subtree, with a fixed number of queries."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from organizations.tenancy import tenant_context
from surveys.services import response_submit
from tests.factories import PASSWORD
from tests.helpers import BAD_ANSWERS, GOOD_ANSWERS, submit_and_score


def page(client, world, user, response):
    assert client.login(username=user.username, password=PASSWORD)
    return client.get(response_url(world, response))


def response_url(world, response) -> str:
    return reverse(
        "response_detail", kwargs={"tenant_slug": world.tenant.slug, "response_id": response.pk}
    )


def test_shows_answers_scores_text_analysis_and_tickets(client, world):
    response = submit_and_score(world, {**BAD_ANSWERS, "text_1": "排队太久了，我要投诉到12315"})
    reply = page(client, world, world.manager, response)
    assert reply.status_code == 200
    html = reply.content.decode()
    assert "排队太久了，我要投诉到12315" in html  # the answer as given
    assert "NPS</dt><dd>2" in html
    assert "12315" in html and "risk-flags" in html  # the risk flag with its term
    assert "等待时间" in html  # the aspect it blames
    with tenant_context(world.tenant):
        ticket = response.tickets.get()
    assert f"/tickets/{ticket.number}/" in html


def test_an_unscored_response_says_so(client, world):
    with tenant_context(world.tenant):
        response = response_submit(
            survey=world.survey, raw_answers=GOOD_ANSWERS, link=world.link
        ).response
    html = page(client, world, world.manager, response).content.decode()
    assert "response-unscored" in html


def test_members_see_only_responses_of_their_org_subtree(client, world):
    response = submit_and_score(world, BAD_ANSWERS)  # world.link is the 浦东支行 branch's
    assert page(client, world, world.agent, response).status_code == 200
    client.logout()
    assert page(client, world, world.other_agent, response).status_code == 404


def test_the_page_runs_the_same_queries_however_many_tickets_and_answers(client, world):
    few = submit_and_score(world, GOOD_ANSWERS)
    many = submit_and_score(world, BAD_ANSWERS)
    page(client, world, world.manager, few)  # logged in, caches warm
    counts = []
    for response in (few, many):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(response_url(world, response)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[1] <= 8
