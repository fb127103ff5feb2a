"""Browser pages at the HTTP level: roles gate them, org-unit scope limits them, and the hot
pages run a fixed number of queries however many rows there are."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from organizations.tenancy import tenant_context
from tests.factories import PASSWORD
from tests.helpers import BAD_ANSWERS, submit_and_score


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def url(name, world, **kwargs):
    return reverse(name, kwargs={"tenant_slug": world.tenant.slug, **kwargs})


def test_anonymous_users_are_sent_to_login(client, world):
    reply = client.get(url("dashboard", world))
    assert reply.status_code == 302 and reply["Location"].startswith("/accounts/login/")


def test_agent_lands_on_the_workbench_and_manager_on_the_dashboard(client, world):
    assert (
        login(client, world.agent).get(url("tenant_home", world))["Location"].endswith("/tickets/")
    )
    client.logout()
    home = login(client, world.manager).get(url("tenant_home", world))
    assert home["Location"].endswith("/dashboard/")


@pytest.mark.parametrize(
    ("who", "page", "status"),
    [
        ("viewer", "survey_index", 200),
        ("agent", "survey_index", 403),
        ("agent", "api_keys", 403),
        ("manager", "api_keys", 403),
        ("viewer", "dashboard", 200),
        # Key drivers are read like the dashboard: every role, each within their own scope.
        ("viewer", "key_drivers", 200),
        ("agent", "key_drivers", 200),
    ],
)
def test_roles_gate_pages(client, world, who, page, status):
    assert login(client, getattr(world, who)).get(url(page, world)).status_code == status


def test_viewer_cannot_publish_or_work_tickets(client, world):
    submit_and_score(world, BAD_ANSWERS)
    login(client, world.viewer)
    assert client.post(url("survey_publish", world, survey_id=world.survey.pk)).status_code == 403
    reply = client.post(url("ticket_detail", world, number=1), {"action": "claim"})
    assert reply.status_code == 403


def test_agent_sees_only_their_branch_tickets(client, world):
    submit_and_score(world, BAD_ANSWERS)  # routed to 浦东支行 (world.branch): ticket 1
    submit_and_score(world, BAD_ANSWERS, link=world.branch_link)  # 西湖支行: ticket 2
    login(client, world.agent)
    queue = client.get(url("ticket_queue", world)).content.decode()
    assert 'data-ticket="1"' in queue and 'data-ticket="2"' not in queue
    assert client.get(url("ticket_detail", world, number=2)).status_code == 404
    assert client.get(url("ticket_detail", world, number=1)).status_code == 200


def test_agent_claims_and_closes_a_ticket_in_the_workbench(client, world):
    submit_and_score(world, BAD_ANSWERS)
    login(client, world.agent)
    detail = url("ticket_detail", world, number=1)
    client.post(detail, {"action": "claim"})
    client.post(detail, {"action": "note", "note": "已电话回访客户"})
    refused = client.post(detail, {"action": "resolve"})
    assert "根本原因" in refused.content.decode()
    client.post(
        detail, {"action": "resolve", "root_cause": world.root_cause.pk, "resolution": "致歉"}
    )
    page = client.post(detail, {"action": "close"}, follow=True).content.decode()
    assert "已关闭" in page and "已电话回访客户" in page


def test_manager_builds_and_publishes_a_survey_and_gets_a_qr_png(client, world):
    login(client, world.manager)
    reply = client.post(
        url("survey_index", world), {"name": "信用卡激活回访", "touchpoint": world.touchpoint.pk}
    )
    builder = reply["Location"]
    survey_id = int(builder.rstrip("/").split("/")[-1])
    assert "该字段是必填项" in client.post(builder, {"qtype": "nps"}).content.decode()
    client.post(builder, {"qtype": "nps", "text_zh": "推荐意愿？", "required": "on"})
    client.post(
        builder, {"qtype": "single_choice", "text_zh": "渠道？", "options": "网点|Branch\nApp"}
    )
    client.post(url("survey_publish", world, survey_id=survey_id))
    page = client.get(builder).content.decode()
    assert "已发布" in page and 'data-testid="public-link"' in page
    link_id = int(page.split("/links/")[1].split("/")[0])
    qr = client.get(url("link_qr_png", world, survey_id=survey_id, link_id=link_id))
    assert qr["Content-Type"] == "image/png" and qr.content.startswith(b"\x89PNG")


def test_publishing_an_empty_survey_is_refused_with_a_message(client, world):
    login(client, world.manager)
    reply = client.post(url("survey_index", world), {"name": "空问卷"})
    survey_id = int(reply["Location"].rstrip("/").split("/")[-1])
    page = client.post(url("survey_publish", world, survey_id=survey_id), follow=True)
    assert "至少" in page.content.decode() or "at least" in page.content.decode()


def queries_for(client, path) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


@pytest.mark.parametrize("page", ["dashboard", "ticket_queue", "survey_index", "journey_map"])
def test_hot_pages_run_a_constant_number_of_queries(client, world, page):
    login(client, world.manager)
    submit_and_score(world, BAD_ANSWERS)
    few = queries_for(client, url(page, world))
    for _ in range(5):
        submit_and_score(world, BAD_ANSWERS)
    assert queries_for(client, url(page, world)) == few
    assert few <= 13  # the dashboard's: its filter form lists the surveys


def test_distribution_and_builder_pages_run_a_constant_number_of_queries(client, world):
    from surveys.distribution import invitations_create
    from surveys.services import link_create

    login(client, world.manager)
    pages = [
        url("survey_distribution", world, survey_id=world.survey.pk),
        url("survey_builder", world, survey_id=world.survey.pk),
        url("distribution_dashboard", world),
    ]

    def grow(first_id: int) -> None:
        with tenant_context(world.tenant):
            people = [
                {"id": f"X{n}", "mobile": f"1390000{n:04d}"} for n in range(first_id, first_id + 3)
            ]
            invitations_create(survey=world.survey, people=people, channel="sms", by=world.manager)
            link_create(survey=world.survey, org_unit=world.other_branch)

    grow(0)
    few = [queries_for(client, page) for page in pages]
    grow(10)
    assert [queries_for(client, page) for page in pages] == few


def test_owner_sets_the_tenant_theme_that_survey_pages_use(client, world):
    owner = world.tenant.slug + "-owner"
    client.login(username=owner, password=PASSWORD)
    theme_url = url("tenant_theme", world)
    page = client.post(theme_url, {"brand_color": "red"}).content.decode()
    assert "#1d4ed8" in page
    client.post(theme_url, {"brand_color": "#0a7d3e", "logo_url": "https://example.cn/logo.png"})
    survey_page = client.get(reverse("respond", args=[world.link.token])).content.decode()
    assert "--brand: #0a7d3e" in survey_page and "https://example.cn/logo.png" in survey_page
    client.logout()
    login(client, world.manager)
    assert client.get(theme_url).status_code == 403


def test_the_ticket_page_shows_risk_signals_and_aspects(client, world):
    submit_and_score(
        world, {"nps_1": 1, "csat_1": 1, "text_1": "排队太久了，再这样我就去12315投诉"}
    )
    login(client, world.agent)
    page = client.get(url("ticket_detail", world, number=1)).content.decode()
    assert "监管投诉：12315" in page and "等待时间" in page
