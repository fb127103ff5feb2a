"""The survey builder: a CX manager edits questions and pages, logic and settings, imports
and exports JSON, starts from templates, previews, and publishes frozen versions."""

import json

import pytest
from django.urls import reverse

from organizations.tenancy import tenant_context
from surveys.definition import iter_questions
from surveys.models import Survey
from tests.factories import PASSWORD


@pytest.fixture
def manager(client, world):
    client.login(username=world.manager.username, password=PASSWORD)
    return client


def url(world, name, survey=None):
    kwargs = {"tenant_slug": world.tenant.slug}
    if survey is not None:
        kwargs["survey_id"] = survey.pk
    return reverse(name, kwargs=kwargs)


def draft(survey):
    with tenant_context(survey.tenant):
        return survey.versions.order_by("-number").first()


def keys(survey):
    return [q["key"] for q in iter_questions(draft(survey).definition)]


def edit(client, world, survey, **fields):
    return client.post(url(world, "survey_edit", survey), fields, follow=True)


@pytest.fixture
def survey(manager, world):
    reply = manager.post(
        url(world, "survey_index"), {"name": "网点到访", "template": "branch_visit"}
    )
    with tenant_context(world.tenant):
        return Survey.objects.get(pk=int(reply["Location"].rstrip("/").split("/")[-1]))


def test_a_survey_starts_from_a_template(survey):
    assert keys(survey) == ["csat", "wait", "staff", "nps", "reason"]
    assert draft(survey).definition["title"]["zh-hans"] == "网点到访"


def test_questions_are_edited_moved_duplicated_and_deleted(manager, world, survey):
    edit(
        manager,
        world,
        survey,
        action="question_update",
        key="wait",
        text_zh="等了多久？",
        text_en="Wait?",
        required="on",
        options="o1=十分钟内|Under 10\no2=更久|Longer\n新选项",
    )
    wait = next(q for q in iter_questions(draft(survey).definition) if q["key"] == "wait")
    assert wait["text"] == {"zh-hans": "等了多久？", "en": "Wait?"} and wait["required"]
    assert [o["key"] for o in wait["options"]] == ["o1", "o2", "o3"]
    edit(manager, world, survey, action="question_up", key="wait")
    assert keys(survey)[:2] == ["wait", "csat"]
    edit(manager, world, survey, action="question_down", key="staff")  # across the page edge
    assert draft(survey).definition["pages"][1]["questions"][0]["key"] == "staff"
    edit(manager, world, survey, action="question_duplicate", key="csat")
    assert "csat_1" in keys(survey)
    edit(manager, world, survey, action="question_remove", key="csat_1")
    assert "csat_1" not in keys(survey)


def test_a_question_other_questions_depend_on_cannot_be_deleted(manager, world, survey):
    edit(
        manager,
        world,
        survey,
        action="question_update",
        key="reason",
        text_zh="原因？",
        show_if_question="nps",
        show_if_op="lte",
        show_if_value="6",
    )
    page = edit(manager, world, survey, action="question_remove", key="nps").content.decode()
    assert "仍被引用" in page and "nps" in keys(survey)


def test_display_condition_may_not_point_forward(manager, world, survey):
    page = edit(
        manager,
        world,
        survey,
        action="question_update",
        key="csat",
        text_zh="满意吗",
        show_if_question="nps",
        show_if_op="lte",
        show_if_value="6",
    ).content.decode()
    assert "前面的题目" in page
    assert "display" not in next(iter_questions(draft(survey).definition))


def test_pages_and_skip_rules(manager, world, survey):
    edit(manager, world, survey, action="page_add")
    edit(manager, world, survey, action="question_to_page", key="reason", page="p3")
    edit(
        manager,
        world,
        survey,
        action="skip_add",
        page="p2",
        when_question="nps",
        when_op="gte",
        when_value="9",
        to="end",
    )
    pages = draft(survey).definition["pages"]
    assert [p["key"] for p in pages] == ["p1", "p2", "p3"]
    assert pages[1]["skip"] == [{"when": {"question": "nps", "op": "gte", "value": 9}, "to": "end"}]
    edit(manager, world, survey, action="skip_remove", page="p2", index="0")
    assert (
        "skip" not in draft(survey).definition["pages"][1]
        or not draft(survey).definition["pages"][1]["skip"]
    )
    assert (
        "请先移走" in edit(manager, world, survey, action="page_remove", page="p3").content.decode()
    )


def test_settings_theme_and_hidden_fields(manager, world, survey):
    edit(
        manager,
        world,
        survey,
        action="settings_update",
        title_zh="到店体验",
        title_en="Visit",
        brand_color="#aa0000",
        hidden_fields="store, order_id",
        redirect_url="https://example.cn/done",
    )
    definition = draft(survey).definition
    assert definition["theme"] == {"brand_color": "#aa0000"}
    assert definition["hidden_fields"] == ["store", "order_id"]
    bad = edit(manager, world, survey, action="settings_update", title_zh="x", brand_color="red")
    assert "#1d4ed8" in bad.content.decode()
    assert draft(survey).definition["theme"] == {"brand_color": "#aa0000"}


def test_export_then_import_round_trips_and_bad_files_change_nothing(manager, world, survey):
    exported = manager.get(url(world, "survey_export", survey))
    document = json.loads(exported.content)
    assert document["format"] == "cem-survey/1" and document["definition"]["pages"]
    document["definition"]["pages"][0]["questions"][0]["text"]["zh-hans"] = "导入后的题目"
    manager.post(url(world, "survey_import", survey), {"document": json.dumps(document)})
    assert next(iter_questions(draft(survey).definition))["text"]["zh-hans"] == "导入后的题目"
    before = draft(survey).definition
    page = manager.post(url(world, "survey_import", survey), {"document": "{oops"}, follow=True)
    assert "不是有效的 JSON" in page.content.decode()
    page = manager.post(
        url(world, "survey_import", survey), {"document": '{"pages": []}'}, follow=True
    )
    assert "导入失败" in page.content.decode()
    assert draft(survey).definition == before


def test_preview_shows_the_draft_page_by_page_in_either_language(manager, world, survey):
    page = manager.get(url(world, "survey_preview", survey) + "?page=p2&lang=en").content.decode()
    assert "How likely are you to recommend us" in page and "预览" in page


def test_publishing_freezes_a_version_and_later_edits_make_the_next(manager, world, survey):
    manager.post(url(world, "survey_publish", survey))
    edit(manager, world, survey, action="question_remove", key="wait")
    with tenant_context(world.tenant):
        survey.refresh_from_db()
        assert survey.live_version.number == 1
        assert "wait" in [q["key"] for q in iter_questions(survey.live_version.definition)]
    assert draft(survey).number == 2 and "wait" not in keys(survey)


def test_builder_add_question_form_covers_every_type(manager, world, survey):
    for qtype in ["rating", "dropdown", "matrix", "short_text", "number", "date", "contact"]:
        reply = manager.post(
            url(world, "survey_builder", survey),
            {"qtype": qtype, "text_zh": f"{qtype} 题", "options": "甲\n乙", "page": "p1"},
        )
        assert reply.status_code == 302, reply.content.decode()[:500]
    assert len(keys(survey)) == 12
    assert manager.get(url(world, "survey_builder", survey)).status_code == 200


def test_pages_reorder_unless_logic_would_point_backwards(manager, world, survey):
    edit(manager, world, survey, action="page_add")
    edit(manager, world, survey, action="question_to_page", key="reason", page="p3")
    edit(
        manager,
        world,
        survey,
        action="question_update",
        key="reason",
        text_zh="原因？",
        show_if_question="nps",
        show_if_op="lte",
        show_if_value="6",
    )
    page = edit(manager, world, survey, action="page_up", page="p3").content.decode()
    assert "前面的题目" in page
    assert [p["key"] for p in draft(survey).definition["pages"]] == ["p1", "p2", "p3"]
    edit(manager, world, survey, action="page_down", page="p1")
    assert [p["key"] for p in draft(survey).definition["pages"]] == ["p2", "p1", "p3"]


def test_response_window_and_limit_are_set_in_the_builder(manager, world, survey):
    url_window = reverse("survey_window", args=[world.tenant.slug, survey.pk])
    manager.post(
        url_window,
        {"opens_at": "2026-12-01T09:00", "closes_at": "2026-12-31T18:00", "response_limit": "500"},
    )
    with tenant_context(world.tenant):
        survey.refresh_from_db()
    assert survey.response_limit == 500 and survey.opens_at.day == 1
    page = manager.post(
        url_window, {"opens_at": "2026-12-31T09:00", "closes_at": "2026-12-01T09:00"}, follow=True
    ).content.decode()
    assert "晚于开始时间" in page
