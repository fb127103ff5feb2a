"""Reads for managers: how the tickets of an org subtree and a period were handled (SLA
compliance, working time to first response and to close, reopen rate, recovery rate, top root
causes), overall and by unit, in a constant number of queries."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone

from alerts.models import OPEN_STATUSES, TicketEvent, TicketStatus
from alerts.selectors import tickets_in_scope
from alerts.sla import working_span
from analytics.models import NpsCategory, ResponseScore
from organizations.business_hours import WorkCalendar, tenant_calendar, working_minutes_between
from organizations.models import OrgUnit, Tenant
from surveys.models import Response

TOP_ROOT_CAUSES = 5
RECOVERED = (NpsCategory.PASSIVE, NpsCategory.PROMOTER)


def period_bounds(tenant: Tenant, start: date, end: date) -> tuple[datetime, datetime]:
    """The instants of a period of the tenant's days, `end` included: [start 00:00, end+1)."""
    zone = ZoneInfo(tenant.time_zone)
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def follow_up_category() -> Subquery:
    """The NPS category of the first complete answer to a ticket's follow-up survey."""
    return Subquery(
        ResponseScore.objects.filter(
            response__link_id=OuterRef("follow_up_invitation__link_id"),
            response__status=Response.Status.COMPLETE,
        )
        .order_by("response__submitted_at", "pk")
        .values("nps_category")[:1]
    )


def _nps_category() -> Subquery:
    """The NPS category of the ticket's own response."""
    return Subquery(
        ResponseScore.objects.filter(response_id=OuterRef("response_id")).values("nps_category")[:1]
    )


def tickets_for_figures(*, scope_path: str, since: datetime, until: datetime) -> QuerySet:
    """One row per ticket opened in [since, until) in the subtree, with what the figures need:
    when it was resolved last, whether it was ever reopened, its response's NPS category and
    its follow-up answer's. One query."""
    return (
        tickets_in_scope(scope_path)
        .filter(created_at__gte=since, created_at__lt=until)
        .annotate(
            resolved_at=Subquery(
                TicketEvent.objects.filter(ticket=OuterRef("pk"), to_status=TicketStatus.RESOLVED)
                .order_by("-at", "-pk")
                .values("at")[:1]
            ),
            was_reopened=Exists(
                TicketEvent.objects.filter(ticket=OuterRef("pk"), kind=TicketEvent.Kind.REOPENED)
            ),
            nps_category=_nps_category(),
            follow_up_nps_category=follow_up_category(),
        )
        .values(
            "status",
            "duplicate_of_id",
            "org_unit__path",
            "root_cause__name",
            "created_at",
            "first_responded_at",
            "first_response_due_at",
            "sla_due_at",
            "sla_paused_at",
            "closed_at",
            "resolved_at",
            "was_reopened",
            "nps_category",
            "follow_up_nps_category",
        )
        .order_by()
    )


def _span(minutes: float | None) -> str:
    return "–" if minutes is None else working_span(round(minutes))


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass
class TicketFigures:
    """The figures of a set of tickets. Times are working minutes of the tenant's calendar."""

    tickets: int = 0
    duplicates: int = 0  # closed as duplicates: counted here, left out of the other figures
    first_response_counted: int = 0  # responded, or past their first-response due time
    first_response_met: int = 0
    resolution_counted: int = 0  # resolved, or open past their resolution due time
    resolution_met: int = 0
    first_response_minutes: list[int] = field(default_factory=list)
    close_minutes: list[int] = field(default_factory=list)
    resolved: int = 0  # resolved at least once
    reopened: int = 0
    detractors_answered: int = 0  # detractor tickets whose follow-up was answered
    detractors_recovered: int = 0  # ...with a passive or promoter answer
    root_causes: Counter = field(default_factory=Counter)

    def add(self, row: dict, *, calendar: WorkCalendar, now: datetime) -> None:
        self.tickets += 1
        if row["duplicate_of_id"] is not None:
            # Closed in bulk as another ticket's duplicate: the one kept carries the service.
            self.duplicates += 1
            return
        responded, due = row["first_responded_at"], row["first_response_due_at"]
        if due is not None and (responded is not None or due <= now):
            self.first_response_counted += 1
            self.first_response_met += responded is not None and responded <= due
        if responded is not None:
            self.first_response_minutes.append(
                working_minutes_between(calendar, row["created_at"], responded)
            )
        resolved = row["resolved_at"]
        running_late = (
            row["status"] in OPEN_STATUSES
            and row["sla_paused_at"] is None
            and row["sla_due_at"] <= now
        )
        if resolved is not None and row["status"] not in OPEN_STATUSES:
            self.resolution_counted += 1
            self.resolution_met += resolved <= row["sla_due_at"]
        elif running_late:
            self.resolution_counted += 1
        if row["closed_at"] is not None:
            self.close_minutes.append(
                working_minutes_between(calendar, row["created_at"], row["closed_at"])
            )
        if resolved is not None or row["closed_at"] is not None:
            self.resolved += 1
            self.reopened += row["was_reopened"]
        if row["nps_category"] == NpsCategory.DETRACTOR and row["follow_up_nps_category"]:
            self.detractors_answered += 1
            self.detractors_recovered += row["follow_up_nps_category"] in RECOVERED
        if row["root_cause__name"]:
            self.root_causes[row["root_cause__name"]] += 1

    @property
    def first_response_rate(self) -> float | None:
        return _rate(self.first_response_met, self.first_response_counted)

    @property
    def resolution_rate(self) -> float | None:
        return _rate(self.resolution_met, self.resolution_counted)

    @property
    def reopen_rate(self) -> float | None:
        return _rate(self.reopened, self.resolved)

    @property
    def recovery_rate(self) -> float | None:
        return _rate(self.detractors_recovered, self.detractors_answered)

    @property
    def first_response_median(self) -> float | None:
        return (
            statistics.median(self.first_response_minutes) if self.first_response_minutes else None
        )

    @property
    def close_median(self) -> float | None:
        return statistics.median(self.close_minutes) if self.close_minutes else None

    @property
    def first_response_median_text(self) -> str:
        return _span(self.first_response_median)

    @property
    def close_median_text(self) -> str:
        return _span(self.close_median)

    @property
    def top_root_causes(self) -> list[tuple[str, int]]:
        return self.root_causes.most_common(TOP_ROOT_CAUSES)


@dataclass(frozen=True)
class TicketAnalytics:
    total: TicketFigures
    by_unit: list[tuple[OrgUnit | None, TicketFigures]]  # None: tickets of the root unit itself


def ticket_analytics(
    *, tenant: Tenant, root: OrgUnit | None, scope_path: str, start: date, end: date
) -> TicketAnalytics:
    """The figures of the tickets opened from `start` to `end` (the tenant's days, included) in
    the subtree of `root` (None: the viewer's whole scope, `scope_path`), and the same by the
    units right under `root` (or under the tenant's one top unit). The caller has checked
    that `root` is inside the viewer's scope. Three queries at most, whatever the data."""
    since, until = period_bounds(tenant, start, end)
    tops: list[OrgUnit] = []
    if root is None and not scope_path:
        tops = list(OrgUnit.objects.filter(parent__isnull=True))
        # One head office: its units are the rows worth reading.
        root = tops[0] if len(tops) == 1 else None
    path = root.path if root is not None else scope_path
    children = list(OrgUnit.objects.filter(parent=root) if root is not None else tops)
    children.sort(key=lambda unit: unit.path)
    calendar, now = tenant_calendar(tenant), timezone.now()
    total = TicketFigures()
    by_child = {unit.path: TicketFigures() for unit in children}
    own = TicketFigures()
    for row in tickets_for_figures(scope_path=path, since=since, until=until):
        total.add(row, calendar=calendar, now=now)
        unit_path = row["org_unit__path"] or ""
        child = next((p for p in by_child if unit_path.startswith(p)), None)
        (by_child[child] if child is not None else own).add(row, calendar=calendar, now=now)
    rows: list[tuple[OrgUnit | None, TicketFigures]] = [
        (unit, by_child[unit.path]) for unit in children
    ]
    if own.tickets:
        rows.insert(0, (None, own))
    return TicketAnalytics(total=total, by_unit=rows)


def recovery_rate(*, scope_path: str, since: datetime, until: datetime) -> float | None:
    """The share (per cent) of detractor tickets opened in [since, until) in the subtree whose
    follow-up survey was answered as a passive or a promoter, among the detractor tickets whose
    follow-up was answered; None when none was. One query."""
    figures = TicketFigures()
    rows = (
        tickets_in_scope(scope_path)
        .filter(created_at__gte=since, created_at__lt=until, follow_up_invitation__isnull=False)
        .annotate(
            nps_category=_nps_category(),
            follow_up_nps_category=follow_up_category(),
        )
        .filter(nps_category=NpsCategory.DETRACTOR, follow_up_nps_category__gt="")
        .values_list("follow_up_nps_category", flat=True)
    )
    for category in rows:
        figures.detractors_answered += 1
        figures.detractors_recovered += category in RECOVERED
    return figures.recovery_rate
