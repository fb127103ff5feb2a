"""Scheduled reports (docs/reports.md): a saved view of the dashboard mailed weekly or monthly as
a PDF and an Excel attachment, to chosen members, or per unit of a kind (each branch) to the
members scoped to that unit; every send is logged (ReportDelivery).

The periods are the tenant's calendar: a week runs Monday to Sunday, a month from its first
day, and a period's report goes from SEND_HOUR on the day after it ends. The beat claims each
due report by writing its log row (unique per schedule, unit and period), then hands it to a
worker of its own (analytics.tasks.send_report_delivery): a bank's 2,000 branch reports
render side by side on every worker there is, and one that fails fails alone. A retried task
or a second beat never sends a report twice; a failed send is tried again by the next beats,
up to MAX_ATTEMPTS times, and one whose worker never took it or died goes again once its claim
is SENDING_STALE_AFTER old.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from analytics.filters import dashboard_filters_refused
from analytics.journey_map import Window
from analytics.models import ReportDelivery, ReportRecipient, ReportSchedule
from analytics.reports import report_pdf, report_read, report_xlsx
from organizations.access import PERMISSIONS, actor_require_permission, actor_scope_path
from organizations.broker import publish
from organizations.models import Membership, OrgUnit
from organizations.services import audit_record
from organizations.spreadsheets import XLSX_TYPE
from organizations.tenancy import current_tenant, system_context, tenant_context

logger = logging.getLogger(__name__)

# The local hour from which the report of a period that ended yesterday goes out.
SEND_HOUR = 7
MAX_ATTEMPTS = 3
# A report still "sending" this long after its attempt began lost its worker (killed, the
# machine gone): the next beat sends it again. A mail twice beats a report never sent.
SENDING_STALE_AFTER = timedelta(minutes=30)
# Filters a schedule does not keep: each send reports its own period of its own unit.
UNKEPT_FILTERS = ("days", "start", "end", "unit")


# ---- Periods


def period_last_complete(frequency: str, *, today) -> Window:
    """The last whole week (Monday to Sunday) or month that ended before `today`."""
    if frequency == ReportSchedule.Frequency.WEEKLY:
        monday = today - timedelta(days=today.weekday())
        return Window(monday - timedelta(days=7), monday - timedelta(days=1))
    last_day = today.replace(day=1) - timedelta(days=1)
    return Window(last_day.replace(day=1), last_day)


def period_due(schedule: ReportSchedule, *, now: datetime) -> Window | None:
    """The period whose report is due at `now`: the last one complete by SEND_HOUR of the
    tenant's day, if it ended on or after the day the schedule was made (a new schedule sends
    the first period it sees end, not the one before it)."""
    zone = ZoneInfo(schedule.tenant.time_zone)
    reference = (now.astimezone(zone) - timedelta(hours=SEND_HOUR)).date()
    period = period_last_complete(schedule.frequency, today=reference)
    if period.end < schedule.created_at.astimezone(zone).date():
        return None
    return period


# ---- Recipients


def _may_receive(membership: Membership) -> bool:
    return membership.role in PERMISSIONS["report.download"]


def _covers(membership: Membership, unit: OrgUnit | None) -> bool:
    """Whether the member's scope holds the whole of `unit` (None: the tenant)."""
    if unit is None:
        return membership.org_unit_id is None
    return unit.path.startswith(membership.scope_path)


def units_members(units: list[OrgUnit]) -> dict[int, list[Membership]]:
    """Who gets each unit's own report: the active members scoped to exactly the unit and its
    manager (OrgUnit.manager, whose scope holds it), each if their role may read reports. One
    query for all the units (a bank's thousands of branches)."""
    managers = {unit.manager_id for unit in units if unit.manager_id}
    members = (
        Membership.objects.filter(deactivated_at__isnull=True)
        .filter(Q(org_unit__in=units) | Q(user_id__in=managers))
        .select_related("user", "org_unit")
        .order_by("pk")
    )
    scoped: dict[int, list[Membership]] = defaultdict(list)
    managing: dict[int, list[Membership]] = defaultdict(list)
    for member in members:
        scoped[member.org_unit_id].append(member)
        managing[member.user_id].append(member)
    found = {}
    for unit in units:
        candidates = {m.pk: m for m in [*scoped[unit.pk], *managing[unit.manager_id]]}
        found[unit.pk] = [
            m for _pk, m in sorted(candidates.items()) if _may_receive(m) and _covers(m, unit)
        ]
    return found


def report_units(schedule: ReportSchedule) -> list[OrgUnit | None]:
    """The unit of each report a send of the schedule makes: per unit, each active unit of the
    kind under the schedule's unit; else the schedule's unit (None: the whole tenant)."""
    if not schedule.per_unit_kind:
        return [schedule.org_unit]
    units = OrgUnit.objects.filter(kind=schedule.per_unit_kind, is_active=True)
    if schedule.org_unit is not None:
        units = units.filter(path__startswith=schedule.org_unit.path)
    return list(units.order_by("path"))


def report_recipients(schedule: ReportSchedule, unit: OrgUnit | None) -> list[Membership]:
    """Who gets the schedule's report of `unit` (one of report_units)."""
    if schedule.per_unit_kind and unit is not None:
        return units_members([unit])[unit.pk]
    return _chosen_members(schedule)


def _chosen_members(schedule: ReportSchedule) -> list[Membership]:
    chosen = Membership.objects.filter(
        pk__in=ReportRecipient.objects.filter(schedule=schedule).values("membership_id"),
        deactivated_at__isnull=True,
    ).select_related("user", "org_unit")
    return [m for m in chosen if _may_receive(m) and _covers(m, schedule.org_unit)]


# ---- Managing schedules


def kept_filters(query: str) -> str:
    """The dashboard's query string without the window and the unit."""
    params = QueryDict(query[:500], mutable=True)
    for name in UNKEPT_FILTERS:
        params.pop(name, None)
    return params.urlencode()


@transaction.atomic
def report_schedule_save(
    *,
    schedule: ReportSchedule | None,
    name: str,
    frequency: str,
    org_unit: OrgUnit | None,
    per_unit_kind: str,
    filters: str,
    recipients: list[Membership],
    is_active: bool = True,
    by: AbstractBaseUser,
) -> ReportSchedule:
    """Create (schedule None) or change a schedule. Managers only; the unit must lie in the
    manager's scope and the filters be ones the dashboard accepts there; chosen recipients
    must be members who may read reports and whose scope holds the unit. Audited."""
    actor_require_permission(by, "report_schedule.manage")
    if not (org_unit.path if org_unit else "").startswith(actor_scope_path(by)):
        raise ValidationError(_("所选组织单位不在您的查看范围内。"))
    filters = kept_filters(filters)
    dashboard_filters_refused(filters, scope=org_unit, tenant=current_tenant())
    if per_unit_kind:
        recipients = []
    elif not recipients:
        raise ValidationError(_("请选择收件人，或选择按单位分别发送。"))
    refused = [m for m in recipients if not (_may_receive(m) and _covers(m, org_unit))]
    if refused:
        raise ValidationError(
            _("以下成员不能接收该单位的报告：%(names)s")
            % {"names": "、".join(str(m.user) for m in refused)}
        )
    before = None if schedule is None else _audited(schedule)
    if schedule is None:
        schedule = ReportSchedule(created_by=by)
    schedule.name = name
    schedule.frequency = frequency
    schedule.org_unit = org_unit
    schedule.per_unit_kind = per_unit_kind
    schedule.filters = filters
    schedule.is_active = is_active
    schedule.full_clean(exclude=["tenant", "created_by"])
    schedule.save()
    ReportRecipient.objects.filter(schedule=schedule).exclude(membership__in=recipients).delete()
    for membership in recipients:
        ReportRecipient.objects.get_or_create(schedule=schedule, membership=membership)
    audit_record(
        by=by,
        action="report_schedule.create" if before is None else "report_schedule.update",
        target=schedule,
        before=before,
        after=_audited(schedule),
    )
    return schedule


def _audited(schedule: ReportSchedule) -> dict:
    return {
        "name": schedule.name,
        "frequency": schedule.frequency,
        "org_unit": schedule.org_unit_id,
        "per_unit_kind": schedule.per_unit_kind,
        "filters": schedule.filters,
        "is_active": schedule.is_active,
        "recipients": sorted(
            ReportRecipient.objects.filter(schedule=schedule).values_list(
                "membership_id", flat=True
            )
        ),
    }


@transaction.atomic
def report_schedule_delete(*, schedule: ReportSchedule, by: AbstractBaseUser) -> None:
    """Delete a schedule; its log stays (with the schedule's name). Managers only; audited."""
    actor_require_permission(by, "report_schedule.manage")
    audit_record(by=by, action="report_schedule.delete", target=schedule, before=_audited(schedule))
    schedule.delete()


def report_schedules_of(by: AbstractBaseUser) -> QuerySet[ReportSchedule]:
    """The schedules of units inside the member's scope (all of them for a tenant-wide one)."""
    schedules = ReportSchedule.objects.select_related("org_unit").order_by("name", "pk")
    scope = actor_scope_path(by)
    if scope:
        schedules = schedules.filter(org_unit__path__startswith=scope)
    return schedules


def report_deliveries_of(schedules: QuerySet[ReportSchedule]) -> QuerySet[ReportDelivery]:
    """The log of these schedules, newest first."""
    return (
        ReportDelivery.objects.filter(schedule__in=schedules)
        .select_related("org_unit")
        .order_by("-created_at", "-pk")
    )


# ---- Sending


def _delivery_claim(
    schedule: ReportSchedule, unit: OrgUnit | None, period: Window
) -> ReportDelivery | None:
    """The log row of this report, taken for sending: new, or failed before (or left sending by
    a worker that died) and not tried MAX_ATTEMPTS times; None when it was sent, skipped, or
    is being sent by another run."""
    try:
        with transaction.atomic():
            return ReportDelivery.objects.create(
                schedule=schedule,
                schedule_name=schedule.name,
                org_unit=unit,
                period_start=period.start,
                period_end=period.end,
            )
    except IntegrityError:
        pass
    found = ReportDelivery.objects.filter(
        schedule=schedule, org_unit=unit, period_start=period.start
    )
    now = timezone.now()
    retryable = Q(status=ReportDelivery.Status.FAILED) | Q(
        status=ReportDelivery.Status.SENDING, claimed_at__lt=now - SENDING_STALE_AFTER
    )
    retried = found.filter(retryable, attempts__lt=MAX_ATTEMPTS).update(
        status=ReportDelivery.Status.SENDING, attempts=F("attempts") + 1, error="", claimed_at=now
    )
    return found.get() if retried else None


def _report_mail(
    schedule: ReportSchedule, unit: OrgUnit | None, period: Window, to: list[str]
) -> EmailMessage:
    """The mail of one report, with the PDF and the workbook attached."""
    window = urlencode({"start": period.start.isoformat(), "end": period.end.isoformat()})
    query = f"{schedule.filters}&{window}" if schedule.filters else window
    filters = dashboard_filters_refused(query, scope=unit, tenant=schedule.tenant, today=period.end)
    report = report_read(filters=filters, tenant=schedule.tenant)
    message = EmailMessage(
        subject=f"{report.title} {report.period}",
        body="\n\n".join(
            [
                _("您好，"),
                _("附件是%(unit)s %(period)s 的客户体验报告（PDF 与 Excel）。")
                % {"unit": report.unit_name, "period": report.period},
                _("此邮件由定期报告“%(name)s”自动发送。") % {"name": schedule.name},
            ]
        ),
        to=to,
    )
    message.attach(report.filename("pdf"), report_pdf(report), "application/pdf")
    message.attach(report.filename("xlsx"), report_xlsx(report), XLSX_TYPE)
    return message


def _delivery_send(
    delivery: ReportDelivery,
    schedule: ReportSchedule,
    unit: OrgUnit | None,
    members: list[Membership],
) -> bool:
    """Send one claimed report and log how it went; True when it was sent."""
    to = sorted({member.user.email for member in members if member.user.email})
    logged = ReportDelivery.objects.filter(pk=delivery.pk)
    if not to:
        logged.update(
            status=ReportDelivery.Status.SKIPPED,
            error=_("没有可接收的成员（需有邮箱，且角色可查看报告）。"),
        )
        return False
    period = Window(delivery.period_start, delivery.period_end)
    try:
        _report_mail(schedule, unit, period, to).send()
    except Exception as error:
        logger.exception("scheduled report %s (delivery %s) failed", schedule.pk, delivery.pk)
        logged.update(status=ReportDelivery.Status.FAILED, recipients=to, error=str(error)[:1000])
        return False
    logged.update(status=ReportDelivery.Status.SENT, recipients=to, sent_at=timezone.now())
    return True


def schedule_send_due(schedule: ReportSchedule, *, now: datetime) -> int:
    """Claim the reports of the schedule's due period not sent yet and hand each to a worker
    (in its tenant's context). Returns how many were handed over."""
    period = period_due(schedule, now=now)
    if period is None:
        return 0
    handed = 0
    for unit in report_units(schedule):
        delivery = _delivery_claim(schedule, unit, period)
        if delivery is not None:
            handed += _delivery_hand_over(delivery)
    return handed


def _delivery_hand_over(delivery: ReportDelivery) -> bool:
    """Queue the claimed report for a worker; its claim is committed already (each claim is
    its own transaction). With the broker down it stays claimed, and a later beat sends it
    once the claim is stale (SENDING_STALE_AFTER)."""
    from analytics.tasks import send_report_delivery

    return publish(send_report_delivery, delivery.pk)


def delivery_send(delivery_id: int) -> bool:
    """Render and mail one claimed report (the worker's task); True when it was sent. A
    report no longer being sent (sent meanwhile, its schedule deleted) is left alone."""
    with system_context():
        delivery = (
            ReportDelivery.all_tenants.select_related("schedule__tenant", "org_unit")
            .filter(pk=delivery_id, status=ReportDelivery.Status.SENDING)
            .first()
        )
    if delivery is None:
        return False
    schedule = delivery.schedule
    if schedule is None:  # deleted since the claim: the log says so
        with system_context():
            ReportDelivery.all_tenants.filter(pk=delivery.pk).update(
                status=ReportDelivery.Status.SKIPPED, error=_("定期报告已删除。")
            )
        return False
    with tenant_context(schedule.tenant), translation.override(schedule.tenant.locale):
        members = report_recipients(schedule, delivery.org_unit)
        return _delivery_send(delivery, schedule, delivery.org_unit, members)


def reports_send_due(*, now: datetime | None = None) -> int:
    """Hand every due scheduled report of every tenant to the workers (the beat task); safe
    to run twice. Returns how many were handed over."""
    now = now or timezone.now()
    with system_context():
        schedules = list(
            ReportSchedule.all_tenants.filter(is_active=True, tenant__is_active=True)
            .select_related("tenant")
            .order_by("pk")
        )
    handed = 0
    for schedule in schedules:
        with tenant_context(schedule.tenant):
            handed += schedule_send_due(schedule, now=now)
    return handed
