"""Reads of improvements: the project list, one project with its links, and its review (复盘):
the linked metrics before and after the fix date, in all and per org unit, with their tests.

The review reads the scored responses (analytics ResponseScore) of the project's touchpoints
and org units (their subtrees); with neither linked, of the whole tenant. It is limited to the
member's org subtree like every other read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import (
    Avg,
    Case,
    CharField,
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Value,
    Variance,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.models import Ticket
from analytics.models import NpsCategory, ResponseScore, TextKind, TextMention
from improvements.models import ImprovementProject, ProjectAction, ProjectStatus
from improvements.review import (
    MIN_RESPONSES,
    MIN_TICKETS,
    Comparison,
    mean_shown,
    nps_shown,
    share_shown,
)
from improvements.statistics import (
    nps_difference_test,
    two_proportion_z_test,
    welch_t_test,
)
from organizations.models import OrgUnit
from organizations.tenancy import current_tenant

ALL = 0  # the group key of "all the project's scope"


def project_list(
    *, status: str = "", root_cause_id: int | None = None
) -> QuerySet[ImprovementProject]:
    projects = ImprovementProject.objects.select_related("root_cause", "owner").annotate(
        ticket_count=Count("tickets", distinct=True),
        actions_open=Count("actions", filter=Q(actions__done_at__isnull=True), distinct=True),
    )
    if status:
        projects = projects.filter(status=status)
    if root_cause_id:
        projects = projects.filter(root_cause_id=root_cause_id)
    return projects.order_by("-created_at", "-id")


def project_actions(project: ImprovementProject) -> QuerySet[ProjectAction]:
    return ProjectAction.objects.filter(project=project).select_related("owner")


def project_tickets(project: ImprovementProject, *, scope_path: str = "") -> QuerySet[Ticket]:
    tickets = Ticket.objects.filter(pk__in=project.tickets.values("pk")).select_related(
        "org_unit", "root_cause"
    )
    if scope_path:
        tickets = tickets.filter(org_unit__path__startswith=scope_path)
    return tickets.order_by("-created_at")


@dataclass(frozen=True)
class Review:
    fix_date_missing: bool
    before_start: datetime | None = None
    fix_at: datetime | None = None
    after_end: datetime | None = None
    nps: tuple[Comparison, ...] = ()
    csat: tuple[Comparison, ...] = ()
    cause_share: tuple[Comparison, ...] = ()
    topic_share: tuple[Comparison, ...] = ()

    @property
    def headline(self) -> Comparison | None:
        """The comparison the page's sentence is about: NPS in all the project's scope."""
        return self.nps[0] if self.nps else None


def _windows(project: ImprovementProject, now: datetime) -> tuple[datetime, datetime, datetime]:
    """Before: the days before the fix date; after: from the fix date's start (in the tenant's
    time zone) for the window's days, or up to now."""
    zone = ZoneInfo(current_tenant().time_zone)
    fix_at = datetime.combine(project.fix_date, time.min, tzinfo=zone)
    return (
        fix_at - timedelta(days=project.review_days_before),
        fix_at,
        min(fix_at + timedelta(days=project.review_days_after), now),
    )


def _scope(project: ImprovementProject, *, prefix: str, scope_path: str) -> Q:
    """Rows (through `prefix` to the response) at the project's touchpoints or in its units'
    subtrees, within the member's subtree."""
    paths = list(
        OrgUnit.objects.filter(pk__in=project.org_units.values("pk")).values_list("path", flat=True)
    )
    touchpoint_ids = list(project.touchpoints.values_list("pk", flat=True))
    linked = Q()
    for path in paths:
        linked |= Q(**{f"{prefix}org_unit__path__startswith": path})
    if touchpoint_ids:
        linked |= Q(**{f"{prefix}touchpoint__in": touchpoint_ids})
    if scope_path:
        linked &= Q(**{f"{prefix}org_unit__path__startswith": scope_path})
    return linked


def _period(field: str, windows: tuple[datetime, datetime, datetime]) -> Case:
    start, fix_at, end = windows
    return Case(
        When(**{f"{field}__gte": start, f"{field}__lt": fix_at}, then=Value("before")),
        When(**{f"{field}__gte": fix_at, f"{field}__lt": end}, then=Value("after")),
        output_field=CharField(),
    )


def _grouped(rows: list[dict], unit_field: str, sums: tuple[str, ...]) -> dict[int, dict]:
    """{unit id or ALL: {"before": {sum: value}, "after": {...}}} from per-unit, per-period rows."""
    groups: dict[int, dict] = {}
    for row in rows:
        # a row with no org unit counts in "all" only
        for key in (ALL, row[unit_field]) if row[unit_field] else (ALL,):
            period = groups.setdefault(key, {}).setdefault(row["period"], dict.fromkeys(sums, 0))
            for name in sums:
                period[name] += row[name] or 0
    return groups


def _pooled_mean_variance(rows: list[dict]) -> tuple[float, float, int]:
    """Mean, sample variance and size of the union of per-unit groups (from their means,
    variances and sizes), for the CSAT test over all units."""
    n = sum(row["csat_n"] for row in rows)
    if n == 0:
        return 0.0, 0.0, 0
    mean = sum(row["csat_mean"] * row["csat_n"] for row in rows if row["csat_n"]) / n
    squares = sum(
        (row["csat_var"] or 0.0) * (row["csat_n"] - 1)
        + row["csat_n"] * (row["csat_mean"] - mean) ** 2
        for row in rows
        if row["csat_n"]
    )
    return mean, (squares / (n - 1) if n > 1 else 0.0), n


def project_review(
    project: ImprovementProject, *, scope_path: str = "", now: datetime | None = None
) -> Review:
    if project.fix_date is None:
        return Review(fix_date_missing=True)
    windows = _windows(project, now or timezone.now())
    names = {**dict(OrgUnit.objects.values_list("pk", "name")), ALL: _("全部")}
    topic_names = list(project.topics.values_list("name", flat=True))

    in_review = ResponseScore.objects.filter(
        _scope(project, prefix="response__", scope_path=scope_path),
        response__submitted_at__gte=windows[0],
        response__submitted_at__lt=windows[2],
    ).annotate(period=_period("response__submitted_at", windows))
    scores = (
        in_review.values("response__org_unit", "period")
        .annotate(
            promoters=Count("id", filter=Q(nps_category=NpsCategory.PROMOTER)),
            detractors=Count("id", filter=Q(nps_category=NpsCategory.DETRACTOR)),
            nps_n=Count("nps"),
            csat_n=Count("csat"),
            csat_mean=Avg("csat"),
            csat_var=Variance("csat", sample=True),
            texts=Count("id", filter=~Q(verbatim="")),
        )
        .order_by()
    )
    score_rows = list(scores)
    mentioning = _topic_texts(in_review, topic_names) if topic_names else {}
    for row in score_rows:
        row["topic_texts"] = mentioning.get((row["response__org_unit"], row["period"]), 0)
    sums = ("promoters", "detractors", "nps_n", "csat_n", "texts", "topic_texts")
    nps_rows, csat_rows, topic_rows = [], [], []
    for key, periods in sorted(_grouped(score_rows, "response__org_unit", sums).items()):
        empty = dict.fromkeys(sums, 0)
        before, after = periods.get("before", empty), periods.get("after", empty)
        nps_rows.append(_nps_comparison(names.get(key, "—"), before, after))
        csat_rows.append(_csat_comparison(names.get(key, "—"), key, score_rows))
        if topic_names:
            topic_rows.append(
                _share_comparison(
                    _("提及关联主题的文本占比"),
                    names.get(key, "—"),
                    (before["topic_texts"], before["texts"]),
                    (after["topic_texts"], after["texts"]),
                    minimum=MIN_RESPONSES,
                )
            )

    cause_rows = []
    if project.root_cause_id:
        tickets = (
            Ticket.objects.filter(
                _scope(project, prefix="response__", scope_path=scope_path),
                root_cause__isnull=False,
                created_at__gte=windows[0],
                created_at__lt=windows[2],
            )
            .annotate(period=_period("created_at", windows))
            .values("response__org_unit", "period")
            .annotate(
                with_cause=Count("id", filter=Q(root_cause=project.root_cause_id)),
                total=Count("id"),
            )
            .order_by()
        )
        ticket_groups = _grouped(list(tickets), "response__org_unit", ("with_cause", "total"))
        for key, periods in sorted(ticket_groups.items()):
            empty = {"with_cause": 0, "total": 0}
            before, after = periods.get("before", empty), periods.get("after", empty)
            cause_rows.append(
                _share_comparison(
                    _("「%(cause)s」工单占比") % {"cause": project.root_cause.name},
                    names.get(key, "—"),
                    (before["with_cause"], before["total"]),
                    (after["with_cause"], after["total"]),
                    minimum=MIN_TICKETS,
                )
            )
    return Review(
        fix_date_missing=False,
        before_start=windows[0],
        fix_at=windows[1],
        after_end=windows[2],
        nps=tuple(nps_rows),
        csat=tuple(csat_rows),
        cause_share=tuple(cause_rows),
        topic_share=tuple(topic_rows),
    )


def _topic_texts(in_review: QuerySet[ResponseScore], names: list[str]) -> dict[tuple, int]:
    """{(org unit id, period): texts mentioning one of the topics `names`}."""
    mentions = TextMention.objects.filter(score=OuterRef("pk"), kind=TextKind.TOPIC, key__in=names)
    rows = (
        in_review.filter(Exists(mentions))
        .values("response__org_unit", "period")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {(row["response__org_unit"], row["period"]): row["n"] for row in rows}


def _share_comparison(
    metric: str, group: str, before: tuple[int, int], after: tuple[int, int], *, minimum: int
) -> Comparison:
    """A share (hits of n) before and after the fix, with the two-proportion z-test."""
    return Comparison(
        metric=metric,
        group=group,
        n_before=before[1],
        n_after=after[1],
        before=before[0] / before[1] if before[1] else None,
        after=after[0] / after[1] if after[1] else None,
        test=two_proportion_z_test(before[0], before[1], after[0], after[1]),
        minimum=minimum,
        shown=share_shown,
    )


def _nps(period: dict) -> float | None:
    if not period["nps_n"]:
        return None
    return 100.0 * (period["promoters"] - period["detractors"]) / period["nps_n"]


def _nps_comparison(group: str, before: dict, after: dict) -> Comparison:
    return Comparison(
        metric="NPS",
        group=group,
        n_before=before["nps_n"],
        n_after=after["nps_n"],
        before=_nps(before),
        after=_nps(after),
        test=nps_difference_test(
            before["promoters"],
            before["detractors"],
            before["nps_n"],
            after["promoters"],
            after["detractors"],
            after["nps_n"],
        ),
        minimum=MIN_RESPONSES,
        shown=nps_shown,
    )


def _csat_comparison(group: str, key: int, rows: list[dict]) -> Comparison:
    sides = []
    for period in ("before", "after"):
        mine = [
            row
            for row in rows
            if row["period"] == period and (key == ALL or row["response__org_unit"] == key)
        ]
        sides.append(_pooled_mean_variance(mine))
    (mean_a, var_a, n_a), (mean_b, var_b, n_b) = sides
    return Comparison(
        metric="CSAT",
        group=group,
        n_before=n_a,
        n_after=n_b,
        before=mean_a if n_a else None,
        after=mean_b if n_b else None,
        test=welch_t_test(mean_a, var_a, n_a, mean_b, var_b, n_b),
        minimum=MIN_RESPONSES,
        shown=mean_shown,
    )


def project_status_counts() -> dict[str, int]:
    rows = ImprovementProject.objects.values("status").annotate(n=Count("id")).order_by()
    counts = dict.fromkeys(ProjectStatus.values, 0)
    counts.update({row["status"]: row["n"] for row in rows})
    return counts
