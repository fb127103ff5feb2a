"""Tickets with their history as spreadsheet rows (CSV and Excel exports), read in chunks so
that an export of many tickets never holds them all in memory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Prefetch
from django.utils.translation import gettext as _

from alerts.models import Ticket, TicketEvent, TicketStatus
from alerts.selectors import tickets_in_scope
from organizations.tenancy import tenant_context

CHUNK = 500


def export_headers() -> tuple[list[str], list[str]]:
    """The column titles of the tickets sheet and of the events sheet."""
    tickets = [
        _("工单号"),
        _("状态"),
        _("优先级"),
        _("网点"),
        _("处理人"),
        _("创建时间"),
        _("首次响应时间"),
        _("解决截止"),
        _("关闭时间"),
        _("根本原因"),
        _("解决方案"),
        _("重复于"),
        _("客户原声"),
    ]
    events = [_("工单号"), _("时间"), _("事件"), _("操作人"), _("状态"), _("说明")]
    return tickets, events


def tickets_for_export(*, scope_path: str, since: datetime, until: datetime):
    """The tickets opened in [since, until) in the subtree, with their events, in chunks."""
    return (
        tickets_in_scope(scope_path)
        .filter(created_at__gte=since, created_at__lt=until)
        .select_related("org_unit", "assignee", "root_cause", "duplicate_of", "response__score")
        .prefetch_related(
            Prefetch(
                "events",
                queryset=TicketEvent.objects.select_related("actor_user", "actor_api_key").order_by(
                    "at", "id"
                ),
            )
        )
        .order_by("number")
        .iterator(chunk_size=CHUNK)
    )


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""


def _person(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


def _ticket_row(ticket: Ticket, zone: ZoneInfo) -> list[object]:
    score = getattr(ticket.response, "score", None)
    return [
        ticket.number,
        ticket.get_status_display(),
        ticket.get_priority_display(),
        ticket.org_unit.name if ticket.org_unit_id else "",
        _person(ticket.assignee),
        _local(ticket.created_at, zone),
        _local(ticket.first_responded_at, zone),
        _local(ticket.sla_due_at, zone),
        _local(ticket.closed_at, zone),
        ticket.root_cause.name if ticket.root_cause_id else "",
        ticket.resolution,
        ticket.duplicate_of.number if ticket.duplicate_of_id else "",
        score.verbatim if score is not None else "",
    ]


def _event_row(ticket: Ticket, event: TicketEvent, zone: ZoneInfo) -> list[object]:
    actor = _person(event.actor_user) or (event.actor_api_key.name if event.actor_api_key else "")
    return [
        ticket.number,
        _local(event.at, zone),
        event.get_kind_display(),
        actor or _("系统"),
        TicketStatus(event.to_status).label if event.to_status else "",
        event.note,
    ]


def ticket_export_sheets(
    *, tenant, scope_path: str, since: datetime, until: datetime
) -> list[tuple[str, Iterator[list[object]]]]:
    """Two sheets, each (title, rows made as they are read), headers first: one row per ticket,
    and one row per event of those tickets. Times in the tenant's time zone."""
    zone = ZoneInfo(tenant.time_zone)
    ticket_header, event_header = export_headers()

    def tickets() -> Iterator[list[object]]:
        yield ticket_header
        for ticket in tickets_for_export(scope_path=scope_path, since=since, until=until):
            yield _ticket_row(ticket, zone)

    def events() -> Iterator[list[object]]:
        yield event_header
        for ticket in tickets_for_export(scope_path=scope_path, since=since, until=until):
            for event in ticket.events.all():
                yield _event_row(ticket, event, zone)

    return [(_("工单"), tickets()), (_("处理历史"), events())]


def ticket_export_lines(
    *, tenant, scope_path: str, since: datetime, until: datetime
) -> Iterator[list[object]]:
    """One flat table for CSV, made as it is read (after the view has returned, so in the
    tenant's context of its own): one row per event, with its ticket's columns first."""
    with tenant_context(tenant):
        zone = ZoneInfo(tenant.time_zone)
        ticket_header, event_header = export_headers()
        yield ticket_header + event_header[1:]
        for ticket in tickets_for_export(scope_path=scope_path, since=since, until=until):
            columns = _ticket_row(ticket, zone)
            for event in ticket.events.all():
                yield columns + _event_row(ticket, event, zone)[1:]
