"""What a CX manager types is checked before it is stored, so no page breaks later: dates in a
plausible range, counts within bounds, and a survey's settings checked the same way whether
typed in the builder or imported as JSON (no script in a link, no CSS in a colour)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from organizations.tenancy import tenant_context
from surveys.models import Link, Survey, SurveyVersion, Trigger
from tests.factories import PASSWORD


@pytest.fixture
def manager(client, world):
    client.login(username=world.manager.username, password=PASSWORD)
    return client


def url(world, name, **kwargs):
    return reverse(
        name, kwargs={"tenant_slug": world.tenant.slug, "survey_id": world.survey.pk, **kwargs}
    )


def draft(world) -> dict:
    with tenant_context(world.tenant):
        return world.survey.versions.order_by("-number").first().definition


def pages_still_work(manager, world) -> None:
    for name in ("survey_distribution", "survey_builder", "survey_qr_zip"):
        assert manager.get(url(world, name)).status_code == 200, name
    assert manager.get(reverse("respond", args=[world.link.token])).status_code == 200


@pytest.mark.parametrize(
    "fields",
    [
        {"expires_at": "0001-01-01T00:00:00"},
        {"expires_at": "9999-12-31T23:59:59"},
        {"response_limit": "2147483648"},
        {"response_limit": "-5"},
        {"response_limit": "0"},
    ],
)
def test_link_settings_out_of_range_are_refused_with_a_message(manager, world, fields):
    page = manager.post(url(world, "link_update", link_id=world.link.pk), fields, follow=True)
    assert page.status_code == 200
    assert "须在 2000 年到 2099 年之间" in page.content.decode() or "确保" in page.content.decode()
    with tenant_context(world.tenant):
        link = Link.objects.get(pk=world.link.pk)
    assert link.expires_at is None and link.response_limit is None
    pages_still_work(manager, world)


@pytest.mark.parametrize("limit", ["2147483648", "-5"])
def test_survey_window_limits_out_of_range_are_refused(manager, world, limit):
    page = manager.post(url(world, "survey_window"), {"response_limit": limit}, follow=True)
    assert page.status_code == 200 and "回收上限" in page.content.decode()
    with tenant_context(world.tenant):
        assert Survey.objects.get(pk=world.survey.pk).response_limit is None


@pytest.mark.parametrize("delay", ["2147483648", "-10"])
def test_trigger_delays_out_of_range_are_refused(manager, world, delay):
    page = manager.post(
        url(world, "survey_distribution"),
        {
            "action": "trigger_add",
            "event_type": "account.opened",
            "channel": "sms",
            "delay_minutes": delay,
        },
        follow=True,
    )
    assert page.status_code == 200 and 'class="flash error"' in page.content.decode()
    with tenant_context(world.tenant):
        assert not Trigger.objects.exists()


@pytest.mark.parametrize("bound", ["1e400", "nan", "1e20"])
def test_a_number_question_bound_beyond_reason_is_refused_in_the_builder(manager, world, bound):
    with tenant_context(world.tenant):
        from surveys.services import survey_question_add

        survey_question_add(survey=world.survey, qtype="number", text_zh="金额", required=False)
    key = [q["key"] for page in draft(world)["pages"] for q in page["questions"]][-1]
    page = manager.post(
        url(world, "survey_edit"),
        {"action": "question_update", "key": key, "text_zh": "金额", "max": bound},
        follow=True,
    )
    assert page.status_code == 200 and "10^15" in page.content.decode()
    assert "max" not in [q for p in draft(world)["pages"] for q in p["questions"]][-1]


HOSTILE_SETTINGS = [
    {"redirect_url": "javascript:alert(document.domain)"},
    {"redirect_url": "https://example.cn/a b"},
    {"theme": {"brand_color": "red; } body{background:url(https://evil.example/x)}"}},
    {"theme": {"logo_url": "javascript:alert(1)"}},
    {"theme": {"logo_url": 'https://cdn.example/x.png" onerror="alert(1)'}},
    {"theme": {"font": "Comic Sans"}},
]


@pytest.mark.parametrize("setting", HOSTILE_SETTINGS)
def test_an_import_gets_the_same_checks_as_the_builder(manager, world, setting):
    before = draft(world)
    document = {**before, **setting}
    page = manager.post(
        url(world, "survey_import"), {"document": json.dumps(document)}, follow=True
    )
    assert "导入失败" in page.content.decode()
    assert draft(world) == before


def test_the_builder_refuses_a_script_link_on_the_thank_you_page(manager, world):
    page = manager.post(
        url(world, "survey_edit"),
        {"action": "settings_update", "title_zh": "问卷", "redirect_url": "javascript:alert(1)"},
        follow=True,
    )
    assert "http://" in page.content.decode()
    assert not draft(world).get("redirect_url")


def test_settings_stored_before_these_checks_never_reach_a_page(client, world):
    with tenant_context(world.tenant):
        SurveyVersion.objects.filter(pk=world.survey.live_version_id).update(
            definition={
                **world.survey.live_version.definition,
                "redirect_url": "javascript:alert(document.domain)",
                "theme": {"brand_color": "red;}body{display:none}", "logo_url": "javascript:x"},
            }
        )
    page = client.get(reverse("respond_thanks", args=[world.link.token])).content.decode()
    assert "javascript:" not in page and "display:none" not in page


@pytest.mark.parametrize(
    "document",
    [
        '{"pages": [{"key": "p1", "title": {"zh-hans": "a\\u0000b"}, "questions": []}]}',
        '{"pages": [{"key": "p1", "title": {"zh-hans": "\\ud800"}, "questions": []}]}',
        '{"pages": [], "x": NaN}',
        '{"pages": [], "x": 1e400}',
        "[" * 1000 + "]" * 1000,
    ],
    ids=["nul", "surrogate", "nan", "overflow", "deep"],
)
def test_an_import_that_cannot_be_stored_is_refused_with_a_message(manager, world, document):
    before = draft(world)
    page = manager.post(url(world, "survey_import"), {"document": document}, follow=True)
    assert page.status_code == 200 and "导入失败" in page.content.decode()
    assert draft(world) == before
