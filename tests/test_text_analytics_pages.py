"""The text analytics pages over HTTP: the page, its filters and drill-down, org-unit scope,
its query count, and the tenant's dictionary."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from analytics.models import Aspect, TextThemes, UserWord
from analytics.services import (
    response_score,
    tenants_with_themes_due,
    text_themes_discover,
    topic_keywords_add,
)
from analytics.tasks import discover_due_text_themes
from organizations.models import OrgUnit
from organizations.services import org_unit_create
from organizations.tenancy import tenant_context
from surveys import services as survey_services
from surveys.models import Link
from tests.factories import PASSWORD
from tests.helpers import BAD_ANSWERS, submit_and_score
from tests.test_text_analytics import APP_CRASHES, CARD_FEES


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def url(name, world, **kwargs):
    return reverse(name, kwargs={"tenant_slug": world.tenant.slug, **kwargs})


@pytest.mark.parametrize(("who", "status"), [("manager", 200), ("viewer", 403), ("agent", 403)])
def test_only_managers_edit_the_text_dictionary(client, world, who, status):
    assert login(client, getattr(world, who)).get(url("text_dictionary", world)).status_code == (
        status
    )


def test_manager_extends_aspects_and_user_words_and_tries_a_text(client, world):
    login(client, world.manager)
    page = url("text_dictionary", world)
    client.post(
        page, {"action": "aspect_add", "aspect-name": "理财收益", "aspect-terms": "年化，收益"}
    )
    client.post(page, {"action": "words_add", "words-words": "大额存单 薪享通"})
    shown = client.get(page).content.decode()
    assert "理财收益" in shown and "年化" in shown and "薪享通" in shown

    tried = client.get(page, {"sample": "大额存单的年化收益太低了"}).content.decode()
    analysis = tried.split('data-testid="sample-analysis"')[1].split("</p>")[0]
    assert "理财收益" in analysis and "大额存单" in analysis


def test_an_empty_term_list_is_refused_with_a_message(client, world):
    login(client, world.manager)
    reply = client.post(
        url("text_dictionary", world),
        {"action": "aspect_add", "aspect-name": "理财收益", "aspect-terms": " ，、 "},
    )
    assert reply.status_code == 200 and "至少" in reply.content.decode()
    with tenant_context(world.tenant):
        assert not Aspect.objects.exists()


def test_manager_deletes_a_word_but_not_one_of_another_tenant(client, world, other_world):
    with tenant_context(other_world.tenant):
        theirs = UserWord.objects.create(word="环球通")
    login(client, world.manager)
    page = url("text_dictionary", world)
    client.post(page, {"action": "words_add", "words-words": "大额存单"})
    with tenant_context(world.tenant):
        ours = UserWord.objects.get()
    assert client.post(page, {"action": "word_delete", "id": theirs.pk}).status_code == 404
    assert client.post(page, {"action": "word_delete", "id": ours.pk}).status_code == 302
    with tenant_context(world.tenant):
        assert not UserWord.objects.exists()
    with tenant_context(other_world.tenant):
        assert UserWord.objects.filter(pk=theirs.pk).exists()


def test_rescore_asks_the_worker_to_redo_past_texts(
    client, world, monkeypatch, django_capture_on_commit_callbacks
):
    asked = []
    monkeypatch.setattr("analytics.tasks.rescore_texts.delay", lambda *args: asked.append(args))
    login(client, world.manager)
    with django_capture_on_commit_callbacks(execute=True):
        reply = client.post(url("text_dictionary", world), {"action": "rescore"}, follow=True)
    assert "重新分析" in reply.content.decode()
    assert asked == [(world.tenant.pk, 90)]


def scored(world, text: str, *, link=None, nps: int = 8):
    return submit_and_score(world, {"nps_1": nps, "csat_1": 4, "text_1": text}, link=link)


@pytest.fixture
def south(world):
    """A region outside the viewer's (华东区), with a branch and a QR link of its own."""
    with tenant_context(world.tenant):
        region = org_unit_create(
            name="华南区", code="SOUTH", kind=OrgUnit.Kind.REGION, parent=world.hq
        )
        branch = org_unit_create(
            name="天河支行", code="GZ-TH", kind=OrgUnit.Kind.BRANCH, parent=region
        )
        link = survey_services.link_create(
            survey=world.survey, kind=Link.Kind.QR, name=branch.name, org_unit=branch
        )
    return link


def verbatims_of(page: str) -> str:
    return page.split('data-testid="verbatims"')[1].split("</ul>")[0]


def test_manager_reads_sentiment_aspects_topics_risks_and_verbatims(client, world):
    with tenant_context(world.tenant):
        topic_keywords_add(name="排队", keywords="排队、叫号", by=world.manager)
    scored(world, "服务态度很好，但是排队太久了")
    scored(world, "再不解决就投诉到银保监会", nps=2)
    scored(world, "柜员非常专业，办理很快", nps=10)
    login(client, world.manager)
    page = client.get(url("text_analytics", world)).content.decode()
    assert 'data-testid="kpi-texts"><h2>文本反馈</h2><p class="value">3<' in page
    aspects = page.split('data-testid="aspects"')[1].split("</table>")[0]
    assert "等待时间" in aspects and "服务态度" in aspects and "专业能力" in aspects
    matrix = page.split('data-testid="topic-matrix"')[1].split("</table>")[0]
    assert "排队" in matrix
    assert "监管投诉" in page.split('data-testid="risks"')[1].split("</ul>")[0]
    assert "浦东支行" in page.split('data-testid="aspects-by-org-unit"')[1].split("</table>")[0]
    assert "网点柜台" in page.split('data-testid="aspects-by-touchpoint"')[1].split("</table>")[0]
    listed = verbatims_of(page)
    assert "银保监会" in listed and url("ticket_detail", world, number=1) in listed
    assert 'src="/static/plotly/plotly.min.js"' in page


def test_filters_and_drill_down_narrow_the_verbatims(client, world):
    scored(world, "服务态度很好，但是排队太久了")
    scored(world, "排队很快，几分钟就办完了")
    scored(world, "手机银行App经常闪退")
    login(client, world.manager)
    filters = {
        "days": 30,
        "journey": world.journey.pk,
        "touchpoint": world.touchpoint.pk,
        "org_unit": world.branch.pk,
        "aspect": "等待时间",
        "polarity": "negative",
    }
    page = client.get(url("text_analytics", world), filters).content.decode()
    listed = verbatims_of(page)
    assert "排队太久了" in listed
    assert "排队很快" not in listed and "闪退" not in listed
    assert 'data-testid="drill-down"' in page
    bogus = {"days": "abc", "touchpoint": 999999, "sentiment": "angry"}
    assert client.get(url("text_analytics", world), bogus).status_code == 200


def test_an_org_unit_filter_outside_the_member_scope_is_ignored(client, world, south):
    scored(world, "天河的叫号机又坏了", link=south)
    login(client, world.viewer)
    with tenant_context(world.tenant):
        south_branch = OrgUnit.objects.get(code="GZ-TH")
    page = client.get(url("text_analytics", world), {"org_unit": south_branch.pk})
    assert "叫号机又坏了" not in page.content.decode()


def test_a_viewer_scoped_to_a_region_sees_only_its_subtree(client, world, south):
    scored(world, "浦东的柜员很耐心")
    scored(world, "天河的叫号机又坏了", link=south)
    login(client, world.manager)
    everything = verbatims_of(client.get(url("text_analytics", world)).content.decode())
    assert "浦东的柜员很耐心" in everything and "天河的叫号机又坏了" in everything
    client.logout()

    login(client, world.viewer)
    page = client.get(url("text_analytics", world)).content.decode()
    assert "浦东的柜员很耐心" in verbatims_of(page)
    assert "天河" not in page  # not in the verbatims, the grids nor the org unit filter
    assert "华东区" in page


def test_an_agent_sees_only_the_texts_of_their_branch(client, world):
    scored(world, "浦东的柜员很耐心")
    scored(world, "西湖的大堂很干净", link=world.branch_link)
    login(client, world.agent)
    listed = verbatims_of(client.get(url("text_analytics", world)).content.decode())
    assert "浦东的柜员很耐心" in listed and "西湖的大堂很干净" not in listed


def test_the_text_analytics_page_runs_a_constant_number_of_queries(client, world, local_cache):
    with tenant_context(world.tenant):
        topic_keywords_add(name="排队", keywords="排队", by=world.manager)
    login(client, world.manager)
    scored(world, BAD_ANSWERS["text_1"], nps=2)
    scored(world, "App经常闪退", nps=3)  # a text no topic covers: themes are searched
    few = queries_for(client, url("text_analytics", world))
    for text in ["服务态度很好，但是排队太久了", "再不解决就投诉到银保监会", "App经常闪退"] * 2:
        scored(world, text, nps=3)
    assert queries_for(client, url("text_analytics", world)) == few
    drilled = url("text_analytics", world) + "?aspect=等待时间&polarity=negative"
    assert queries_for(client, drilled) == few


def queries_for(client, path: str) -> int:
    cache.clear()  # count the discovery of themes too, not a cached answer
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def themes_of(page: str) -> str:
    return page.split('<section class="card" id="themes">')[1].split("</section>")[0]


def test_the_page_shows_the_stored_themes_counting_only_what_the_reader_may_see(
    client, world, south
):
    for text in APP_CRASHES[:3]:
        scored(world, text)  # 浦东支行, in the viewer's region
    for text in APP_CRASHES[3:]:
        scored(world, text, link=south)
    login(client, world.manager)
    page = themes_of(client.get(url("text_analytics", world)).content.decode())
    assert "首次聚类完成后显示在这里" in page

    with tenant_context(world.tenant):
        found = text_themes_discover()
    assert [len(theme["members"]) for theme in found.themes] == [len(APP_CRASHES)]
    page = themes_of(client.get(url("text_analytics", world)).content.decode())
    assert "闪退" in page and f"{len(APP_CRASHES)} 条反馈" in page
    assert f"最新的 {len(APP_CRASHES)} 条" in page
    assert timezone.localtime(found.computed_at).strftime("%Y-%m-%d %H:%M") in page
    client.logout()

    login(client, world.viewer)
    page = themes_of(client.get(url("text_analytics", world)).content.decode())
    assert "3 条反馈" in page
    assert not any(text in page for text in APP_CRASHES[3:])


def test_the_page_reads_themes_without_cutting_a_text(client, world, monkeypatch):
    for text in APP_CRASHES:
        scored(world, text)
    with tenant_context(world.tenant):
        text_themes_discover()

    def refused(*args, **kwargs):
        raise AssertionError("the web process cut or clustered texts")

    for name in ("analytics.chinese._jieba", "analytics.topics.themes_discover"):
        monkeypatch.setattr(name, refused)
    page = login(client, world.manager).get(url("text_analytics", world)).content.decode()
    assert "闪退" in themes_of(page)


def test_rescoring_has_the_themes_found_again_once_every_text_is_done(world, eager_tasks):
    responses = [scored(world, text) for text in APP_CRASHES + CARD_FEES]
    with tenant_context(world.tenant):
        text_themes_discover()
        assert len(TextThemes.objects.get().themes) == 2
        topic_keywords_add(name="信用卡", keywords="信用卡、年费", by=world.manager)
    for response in responses[:-1]:
        response_score(response_id=response.pk)
    with tenant_context(world.tenant):
        assert len(TextThemes.objects.get().themes) == 2  # one text still waits
    response_score(response_id=responses[-1].pk)
    with tenant_context(world.tenant):
        (theme,) = TextThemes.objects.get().themes
    assert "闪退" in theme["label"]


def test_the_beat_finds_themes_for_the_tenants_with_texts_since_they_last_were(
    world, other_world, eager_tasks
):
    assert tenants_with_themes_due() == []
    for text in APP_CRASHES:
        scored(world, text)
    assert tenants_with_themes_due() == [world.tenant.pk]
    assert discover_due_text_themes() == 1
    with tenant_context(world.tenant):
        assert len(TextThemes.objects.get().themes) == 1
    assert tenants_with_themes_due() == []
    submit_and_score(other_world, {"nps_1": 3, "csat_1": 2, "text_1": "App又闪退了"})
    assert tenants_with_themes_due() == [other_world.tenant.pk]
