"""A CRM's sync through the partner API (issue 12, part 7): responses and tickets in the order
they changed, paged by an opaque cursor that writes between pages never upset; the filters a
sync takes; a ticket's history, its assignment; the root causes and org units by code."""

from __future__ import annotations

from base64 import urlsafe_b64encode
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from alerts.models import RootCause, Ticket, TicketEvent
from alerts.services import ticket_note_add, ticket_transition, tickets_escalate_due
from analytics.services import response_score
from organizations.models import Role
from organizations.org_units import org_unit_deactivate
from organizations.services import membership_create, org_unit_create
from organizations.tenancy import tenant_context
from surveys.models import Response
from surveys.services import response_submit
from tests.factories import UserFactory
from tests.helpers import BAD_ANSWERS, GOOD_ANSWERS, submit_and_score

T0 = datetime.fromisoformat("2026-06-10T12:00:00+08:00")


@pytest.fixture
def api(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {world.api_key_plaintext}")
    return client


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def submit(world, answers, *, link=None, **kwargs) -> Response:
    """Store a response without scoring it."""
    with tenant_context(world.tenant):
        return response_submit(
            survey=world.survey, raw_answers=answers, link=link or world.link, **kwargs
        ).response


def score(world, response: Response) -> None:
    with tenant_context(world.tenant):
        response_score(response_id=response.pk)


def pull(api, url: str) -> tuple[list[dict], list[str]]:
    """Every row of a synced list, following `next` from `url`; and the pages' cursors."""
    rows, cursors = [], []
    while url:
        reply = api.get(url)
        assert reply.status_code == 200, reply.json()
        page = reply.json()
        rows += page["results"]
        url = page["next"]
        if url:
            cursors.append(parse_qs(urlsplit(url).query)["cursor"][0])
    return rows, cursors


def next_page(api, url: str) -> dict:
    reply = api.get(url)
    assert reply.status_code == 200, reply.json()
    return reply.json()


def error_fields(reply) -> dict:
    assert reply.status_code == 400, reply.content
    error = reply.json()["error"]
    assert error["code"] == "invalid" and error["message"]
    return error["fields"]


# Responses


def test_responses_come_oldest_change_first_each_once_across_pages(api, world, clock):
    stored = []
    for minute in range(5):
        stored.append(submit(world, GOOD_ANSWERS))
        clock.shift(timedelta(minutes=1) if minute != 2 else timedelta(0))  # a tie: by id
    rows, cursors = pull(api, "/api/v1/responses/?limit=2")
    assert [row["id"] for row in rows] == [response.pk for response in stored]
    assert len(cursors) == 2  # 2 + 2 + 1, the last page says there is no next
    assert rows[0]["updated_at"] == "2026-06-10T12:00:00+08:00"


def test_a_response_scored_comes_again_with_its_scores_and_ticket(api, world, clock):
    response = submit(world, BAD_ANSWERS, external_customer_id="C-1")
    first = next_page(api, "/api/v1/responses/")["results"]
    assert first[0]["scores"] is None and first[0]["ticket_numbers"] == []
    clock.shift(timedelta(seconds=30))
    score(world, response)
    since = "2026-06-10T12:00:30%2B08:00"  # inclusive: the very moment of the scoring counts
    again = next_page(api, f"/api/v1/responses/?updated_since={since}")["results"]
    assert [row["id"] for row in again] == [response.pk]
    assert again[0]["scores"]["nps_category"] == "detractor"
    assert again[0]["scores"]["sentiment"] == "negative" and again[0]["scores"]["keywords"]
    assert again[0]["ticket_numbers"] == [1]
    assert again[0]["updated_at"] == "2026-06-10T12:00:30+08:00"
    later = "2026-06-10T12:00:31%2B08:00"
    assert next_page(api, f"/api/v1/responses/?updated_since={later}")["results"] == []


def test_the_cursor_survives_writes_between_pages(api, world, clock):
    """A row written after the sync began comes at the end; a row changed after it was read
    comes again at the end; nothing is skipped or shifted."""
    first, second, third = (submit(world, GOOD_ANSWERS) for _ in range(3))
    page = next_page(api, "/api/v1/responses/?limit=2")
    assert [row["id"] for row in page["results"]] == [first.pk, second.pk]
    clock.shift(timedelta(minutes=1))
    score(world, first)  # changed after it was read
    newcomer = submit(world, BAD_ANSWERS)
    rest, _cursors = pull(api, page["next"])
    assert [row["id"] for row in rest] == [third.pk, first.pk, newcomer.pk]
    assert rest[1]["scores"] is not None


def test_partial_responses_are_not_listed(api, world):
    complete = submit(world, GOOD_ANSWERS)
    with tenant_context(world.tenant):
        Response.objects.create(
            survey=world.survey, version=world.survey.live_version, status="partial"
        )
    assert [row["id"] for row in pull(api, "/api/v1/responses/")[0]] == [complete.pk]


def test_response_filters_customer_org_subtree_survey_and_touchpoint(api, world, other_world):
    with tenant_context(world.tenant):
        team = org_unit_create(name="理财团队", code="SH-PD-T1", kind="team", parent=world.branch)
    branch = submit(world, GOOD_ANSWERS, external_customer_id="C-1")
    in_team = submit(world, GOOD_ANSWERS, external_customer_id="C-2", org_unit=team)
    elsewhere = submit(world, GOOD_ANSWERS, link=world.branch_link)

    def ids(query: str) -> list[int]:
        return [row["id"] for row in pull(api, f"/api/v1/responses/?{query}")[0]]

    assert ids("external_customer_id=C-2") == [in_team.pk]
    assert ids("org_unit=SH-PD") == [branch.pk, in_team.pk]  # the unit and below
    assert ids("org_unit=SH-PD-T1") == [in_team.pk]
    assert ids("org_unit=EAST") == [branch.pk, in_team.pk, elsewhere.pk]
    assert ids(f"survey={world.survey.pk}&org_unit=HZ-XH") == [elsewhere.pk]
    assert ids("touchpoint=counter&external_customer_id=C-1") == [branch.pk]
    assert ids("external_customer_id=nobody") == []


BAD_CURSORS = [
    "abc",
    "!!!",
    urlsafe_b64encode(b"2026-06-10T12:00:00+08:00|0").decode(),  # no id 0
    urlsafe_b64encode(b"2026-06-10T12:00:00|5").decode(),  # no time zone
    urlsafe_b64encode(b"0001-01-01T00:00:00+00:00|5").decode(),
    urlsafe_b64encode(b"2026-06-10T12:00:00+08:00|99999999999999999999").decode(),
    urlsafe_b64encode("２０２６|５".encode()).decode(),
    "A" * 300,
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
@pytest.mark.parametrize("path", ["/api/v1/responses/", "/api/v1/tickets/?order=updated"])
def test_a_malformed_cursor_is_a_400_naming_it(api, world, path, cursor):
    joiner = "&" if "?" in path else "?"
    assert "cursor" in error_fields(api.get(f"{path}{joiner}cursor={cursor}"))


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00%2B14:00",
        "nan",
        "99999-01-01T00:00:00Z",
        "9999-12-31T23:59:59-12:00",
        "2026-13-01T00:00:00Z",
        "2100-01-01T00:00:00Z",
        "",
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/responses/", "/api/v1/tickets/"])
def test_a_bad_updated_since_is_a_400_naming_it(api, world, path, value):
    assert "updated_since" in error_fields(api.get(f"{path}?updated_since={value}"))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("org_unit=NOPE", "org_unit"),
        ("org_unit=", "org_unit"),
        ("org_unit=SH%00PD", "org_unit"),
        ("external_customer_id=C%00", "external_customer_id"),
        ("external_customer_id=" + "C" * 129, "external_customer_id"),
        ("touchpoint=nowhere", "touchpoint"),
        ("touchpoint=%00", "touchpoint"),
        ("survey=987654", "survey"),
        ("survey=abc", "survey"),
        ("survey=0", "survey"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
    ],
)
def test_bad_response_filters_are_400s_naming_them(api, world, query, field):
    assert field in error_fields(api.get(f"/api/v1/responses/?{query}"))


def test_another_tenants_codes_are_unknown_codes(api, world, other_world):
    with tenant_context(other_world.tenant):
        org_unit_create(name="只在B", code="B-ONLY", kind="branch", parent=other_world.hq)
    assert "org_unit" in error_fields(api.get("/api/v1/responses/?org_unit=B-ONLY"))
    assert "survey" in error_fields(api.get(f"/api/v1/responses/?survey={other_world.survey.pk}"))


# Tickets


def test_tickets_sync_in_change_order_and_come_again_on_every_event(api, world, clock):
    for _ in range(3):
        submit_and_score(world, BAD_ANSWERS)
        clock.shift(timedelta(minutes=1))
    rows, _cursors = pull(api, "/api/v1/tickets/?order=updated&limit=2")
    assert [row["number"] for row in rows] == [1, 2, 3]
    assert "count" not in next_page(api, "/api/v1/tickets/?order=updated")
    since = "2026-06-10T12:03:00%2B08:00"
    with tenant_context(world.tenant):
        ticket_note_add(ticket=Ticket.objects.get(number=2), by=world.agent, note="已致电")
    clock.shift(timedelta(minutes=1))
    with tenant_context(world.tenant):
        ticket_transition(ticket=Ticket.objects.get(number=1), action="claim", by=world.agent)
    changed, _cursors = pull(api, f"/api/v1/tickets/?order=updated&updated_since={since}")
    assert [row["number"] for row in changed] == [2, 1]  # the note, then the claim
    clock.shift(timedelta(days=14))  # past their due times in working hours
    assert tickets_escalate_due() == 3
    since = "2026-06-24T12:04:00%2B08:00"
    escalated, _cursors = pull(api, f"/api/v1/tickets/?order=updated&updated_since={since}")
    assert [row["number"] for row in escalated] == [1, 2, 3]  # at one moment: by id
    assert all(row["escalated_at"] for row in escalated)


def test_tickets_keep_their_queue_order_and_offset_paging_by_default(api, world):
    submit_and_score(world, BAD_ANSWERS)
    page = next_page(api, "/api/v1/tickets/?offset=0&limit=5")
    assert page["count"] == 1 and page["previous"] is None
    assert page["results"][0]["external_customer_id"] == ""


def test_each_way_of_paging_refuses_the_others_parameter(api, world):
    assert "offset" in error_fields(api.get("/api/v1/tickets/?order=updated&offset=5"))
    assert api.get("/api/v1/tickets/?order=updated&offset=0").status_code == 200
    token = urlsafe_b64encode(b"2026-06-10T12:00:00+08:00|1").decode()
    assert "cursor" in error_fields(api.get(f"/api/v1/tickets/?cursor={token}"))
    assert "order" in error_fields(api.get("/api/v1/tickets/?order=newest"))


def test_ticket_filters_status_customer_and_org_subtree(api, world):
    submit_and_score(world, BAD_ANSWERS, external_customer_id="C-1")
    submit_and_score(world, BAD_ANSWERS, link=world.branch_link, external_customer_id="C-2")
    with tenant_context(world.tenant):
        ticket_transition(ticket=Ticket.objects.get(number=2), action="claim", by=world.other_agent)

    def numbers(query: str) -> list[int]:
        return [row["number"] for row in pull(api, f"/api/v1/tickets/?order=updated&{query}")[0]]

    assert numbers("external_customer_id=C-2") == [2]
    assert numbers("org_unit=HZ-XH") == [2]
    assert numbers("org_unit=EAST") == [1, 2]
    assert numbers("status=open") == [1]
    assert numbers("status=in_progress&org_unit=SH-PD") == []
    assert "org_unit" in error_fields(api.get("/api/v1/tickets/?org_unit=NOPE"))


def test_a_tickets_history_lists_notes_and_changes_with_their_actors(api, world):
    submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant):
        ticket_note_add(ticket=Ticket.objects.get(number=1), by=world.agent, note="已致电客户")
    api.patch("/api/v1/tickets/1/", {"action": "claim", "note": "CRM 跟进"}, format="json")
    events = next_page(api, "/api/v1/tickets/1/events/")["results"]
    assert [(e["kind"], e["actor_type"], e["actor"]) for e in events] == [
        ("created", "system", None),
        ("note", "member", world.agent.username),
        ("claimed", "api_key", world.api_key.name),
    ]
    assert events[0]["note"].startswith("命中规则")
    assert (events[2]["from_status"], events[2]["to_status"]) == ("open", "in_progress")
    assert events[1]["to_status"] == "" and events[2]["note"] == "CRM 跟进"
    assert api.get("/api/v1/tickets/99/events/").status_code == 404


def assign(api, number: int, assignee: str, reason: str = "客户指定客户经理"):
    return api.post(
        f"/api/v1/tickets/{number}/assign/",
        {"assignee": assignee, "reason": reason},
        format="json",
    )


def test_assigning_a_ticket_by_username_or_email(api, world, clock):
    submit_and_score(world, BAD_ANSWERS)  # ticket 1 of 浦东支行
    clock.shift(timedelta(minutes=5))
    reply = assign(api, 1, world.agent.username)
    assert reply.status_code == 200, reply.json()
    ticket = reply.json()
    assert ticket["assignee"] == world.agent.username and ticket["status"] == "in_progress"
    assert ticket["updated_at"] == "2026-06-10T12:05:00+08:00"
    with tenant_context(world.tenant):
        manager = UserFactory(username="acme-lead", email="Lead@Example.com")
        membership_create(user=manager, role=Role.CX_MANAGER)
    assert assign(api, 1, "lead@example.com").json()["assignee"] == "acme-lead"
    again = assign(api, 1, "acme-lead")  # a retry changes nothing
    assert again.status_code == 200 and again.json()["assignee"] == "acme-lead"
    with tenant_context(world.tenant):
        moves = TicketEvent.objects.filter(kind=TicketEvent.Kind.REASSIGNED).order_by("id")
        assert [event.note for event in moves] == [
            f"未分派 → {world.agent.username}：客户指定客户经理",
            f"{world.agent.username} → acme-lead：客户指定客户经理",
        ]
        assert all(event.actor_api_key_id == world.api_key.pk for event in moves)


def test_assigning_to_someone_who_cannot_work_the_ticket_is_a_clear_400(api, world, other_world):
    submit_and_score(world, BAD_ANSWERS)  # ticket 1 of 浦东支行
    refused = {
        world.other_agent.username: "数据范围",  # an agent of 西湖支行
        world.viewer.username: "角色",  # a viewer
        other_world.agent.username: "No member",  # another tenant's agent
        "nobody@example.com": "No member",
    }
    for person, words in refused.items():
        reply = assign(api, 1, person)
        assert reply.status_code == 400, person
        assert words in reply.json()["error"]["message"], (person, reply.json())
    assert "assignee" in error_fields(assign(api, 1, "nobody"))
    assert "reason" in error_fields(assign(api, 1, world.agent.username, reason=""))
    with tenant_context(world.tenant):
        assert Ticket.objects.get(number=1).assignee_id is None
    assert assign(api, 42, world.agent.username).status_code == 404


def test_a_shared_email_asks_for_the_username(api, world):
    submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant):
        for name in ("twin-a", "twin-b"):
            membership_create(
                user=UserFactory(username=name, email="twins@example.com"), role="admin"
            )
    fields = error_fields(assign(api, 1, "twins@example.com"))
    assert "username" in fields["assignee"][0]


def test_root_causes_are_listed_by_the_names_resolving_takes(api, world):
    causes = pull(api, "/api/v1/root-causes/")[0]
    assert {"name", "level", "parent"} <= set(causes[0])
    assert world.root_cause.name in [cause["name"] for cause in causes]
    submit_and_score(world, BAD_ANSWERS)
    api.patch("/api/v1/tickets/1/", {"action": "claim"}, format="json")
    name = next(cause["name"] for cause in causes if cause["level"] == "process")
    resolved = api.patch(
        "/api/v1/tickets/1/", {"action": "resolve", "root_cause": name}, format="json"
    )
    assert resolved.json()["root_cause"] == name


def test_org_units_are_listed_by_code_with_parent_kind_and_state(api, world):
    with tenant_context(world.tenant):
        org_unit_deactivate(unit=world.other_branch, by=None)  # as the system
    units = pull(api, "/api/v1/org-units/")[0]
    assert [tuple(unit.values()) for unit in units] == [
        ("HQ", world.hq.name, "hq", None, True),
        ("EAST", "华东区", "region", "HQ", True),
        ("SH-PD", "浦东支行", "branch", "EAST", True),
        ("HZ-XH", "西湖支行", "branch", "EAST", False),
    ]
    assert list(units[0]) == ["code", "name", "kind", "parent", "is_active"]


# Queries


def queries_of(api, url: str) -> int:
    api.get(url)  # the key's last use is recorded once a minute: not in what is counted
    with CaptureQueriesContext(connection) as captured:
        assert api.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/responses/?org_unit=EAST&touchpoint=counter&survey={survey}",
        "/api/v1/tickets/?order=updated&org_unit=EAST&updated_since=2026-01-01T00:00:00Z",
        "/api/v1/tickets/?status=open",
        "/api/v1/tickets/1/events/",
        "/api/v1/org-units/",
        "/api/v1/root-causes/",
    ],
)
def test_a_page_costs_the_same_queries_whatever_its_rows(api, world, url):
    url = url.format(survey=world.survey.pk)
    submit_and_score(world, BAD_ANSWERS)
    few = queries_of(api, url)
    with tenant_context(world.tenant):
        for number in range(4):
            unit = org_unit_create(
                name=f"团队{number}", code=f"T{number}", kind="team", parent=world.branch
            )
            membership_create(user=UserFactory(), role=Role.AGENT, org_unit=unit)
            ticket_note_add(ticket=Ticket.objects.get(number=1), by=world.agent, note="跟进")
            RootCause.objects.create(name=f"原因{number}", level="process", parent=world.root_cause)
    for _ in range(4):
        submit_and_score(world, BAD_ANSWERS, external_customer_id="C-9")
        submit_and_score(world, GOOD_ANSWERS)
    assert queries_of(api, url) == few
