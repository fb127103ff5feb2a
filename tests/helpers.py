"""Small helpers the tests share: submitting and scoring a response inside a tenant."""

from __future__ import annotations

from analytics.services import response_score
from organizations.tenancy import tenant_context
from surveys.services import response_submit
from tests.factories import World

BAD_ANSWERS = {"nps_1": 2, "csat_1": 1, "text_1": "排队等了一个多小时，柜员态度也很差"}
GOOD_ANSWERS = {"nps_1": 10, "csat_1": 5, "text_1": "柜员非常专业，办理很快，很满意"}


def submit_and_score(world: World, answers: dict, *, link=None, **kwargs):
    """Submit `answers` to the world's survey and score it in-process; returns the response."""
    with tenant_context(world.tenant):
        submitted = response_submit(
            survey=world.survey, raw_answers=answers, link=link or world.link, **kwargs
        )
        response_score(response_id=submitted.response.pk)
        return submitted.response


def respondent_post(client, url: str, data: dict, **extra):
    """Post a respondent page as a browser does: the page's resume key and form token come
    from the page itself (fetched first with the same cookies) unless `data` brings its own."""
    import re

    html = client.get(url).content.decode()
    fields = dict(re.findall(r'name="(resume_key|form_token|unsaved)" value="([^"]*)"', html))
    return client.post(url, {**fields, **data}, **extra)
