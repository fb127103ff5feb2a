"""Responses as a CSV or Excel file, and the dashboard's PDF report, written by a worker
(docs/exports.md).

A member asks with the dashboard's filters; the job keeps them with the window as explicit
dates and re-reads them in the worker against the member's scope, so a narrower role or a
moved scope since applies. The worker reads the responses with their scores in keyset pages
(a constant amount in memory whatever their number), up to the highest id there was when it
started, writes each row as it is read to a temporary file, records its progress once a page,
and finally hands the file to the storage under MEDIA_ROOT/exports/<tenant>/. A PDF report
is printed by Chromium from the same filters (analytics/reports.py): a second or more of a
browser's work that a web request should not hold.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from analytics.filters import DashboardFilters, dashboard_filters_refused
from analytics.models import ExportJob, RiskFlag, Sentiment
from analytics.reports import report_pdf, report_read
from analytics.selectors import touchpoint_catalogue
from customers.selectors import customers_tagged
from organizations.access import require_permission
from organizations.models import Membership, Tenant
from organizations.services import audit_record
from organizations.spreadsheets import csv_write, xlsx_write
from organizations.tenancy import system_context, tenant_context
from surveys.definition import (
    CHOICE_TYPES,
    SCALES,
    answer_display,
    iter_questions,
    localized,
    other_key,
)
from surveys.models import Response, SurveyVersion

logger = logging.getLogger(__name__)

PAGE_SIZE = 2000
# A running job whose progress has not moved for this long lost its worker (a page takes
# seconds, the final save of a million-row workbook minutes) and is taken again.
STALE_AFTER = timedelta(minutes=30)
# Exports one member may have waiting or running at once: each can be a million rows.
RUNNING_PER_MEMBER = 3
# The tenant setting an operator gives a tenant's own quota of rows per export in.
EXPORT_MAX_ROWS_SETTING = "export_max_rows"
# What each kind of export needs of its member, and the formats it comes in.
KIND_PERMISSIONS = {
    ExportJob.Kind.RESPONSES: "response.export",
    ExportJob.Kind.REPORT: "report.download",
}
KIND_FORMATS = {
    ExportJob.Kind.RESPONSES: (ExportJob.Format.CSV, ExportJob.Format.XLSX),
    ExportJob.Kind.REPORT: (ExportJob.Format.PDF,),
}
# Question types whose answers are written as numbers, for the spreadsheet to compute with.
NUMBER_TYPES = (*SCALES, "rating", "number")


# ---- Asking for an export


def _membership_of(user: AbstractBaseUser) -> Membership:
    membership = (
        Membership.objects.filter(user=user, deactivated_at__isnull=True)
        .select_related("org_unit", "tenant")
        .first()
    )
    if membership is None:
        raise PermissionDenied("Not a member of this tenant.")
    return membership


def export_row_limit(tenant: Tenant) -> int:
    """The most responses one export of the tenant may hold: its own quota where the operator
    set one (`settings["export_max_rows"]`), else CEM_EXPORT_MAX_ROWS."""
    return int(tenant.settings.get(EXPORT_MAX_ROWS_SETTING) or settings.CEM_EXPORT_MAX_ROWS)


def _filters_read(query: str, membership: Membership) -> DashboardFilters:
    return dashboard_filters_refused(query, scope=membership.org_unit, tenant=membership.tenant)


def export_start(
    *,
    query: str,
    file_format: str,
    by: AbstractBaseUser,
    kind: str = ExportJob.Kind.RESPONSES,
) -> ExportJob:
    """Record an export of `kind` of the dashboard's filters in `query` (the responses they
    leave, or the PDF report of the view), and hand it to a worker once committed. Responses
    are for managers ("response.export"), the report for whoever may download it
    ("report.download"); audited."""
    from analytics.tasks import run_export
    from organizations.broker import publish

    if kind not in KIND_PERMISSIONS:
        raise ValidationError(_("不支持的导出内容。"))
    membership = _membership_of(by)
    require_permission(membership, KIND_PERMISSIONS[kind])
    if file_format not in KIND_FORMATS[kind]:
        raise ValidationError(
            _("请选择 CSV 或 Excel 格式。")
            if kind == ExportJob.Kind.RESPONSES
            else _("报告只能生成 PDF。")
        )
    filters = _filters_read(query, membership)
    if kind == ExportJob.Kind.RESPONSES:
        _within_quota(filters, membership.tenant)
    running = ExportJob.objects.filter(
        created_by=by, status__in=[ExportJob.Status.QUEUED, ExportJob.Status.RUNNING]
    )
    if running.count() >= RUNNING_PER_MEMBER:
        raise ValidationError(
            _("您已有 %(n)d 个导出在进行，请等它们完成后再导出。") % {"n": RUNNING_PER_MEMBER}
        )
    # The window as dates: "the last 30 days" must not move while the job waits.
    fixed = filters.query(
        days=None, start=filters.window.start.isoformat(), end=filters.window.end.isoformat()
    )
    with transaction.atomic():
        job = ExportJob.objects.create(kind=kind, format=file_format, filters=fixed, created_by=by)
        audit_record(
            by=by,
            action="export.start",
            target=job,
            after={"kind": kind, "format": file_format, "filters": fixed},
        )
    transaction.on_commit(lambda: publish(run_export, job.pk))
    return job


def _within_quota(filters: DashboardFilters, tenant: Tenant) -> None:
    """Refuse (ValidationError) an export of more responses than the tenant's quota."""
    limit = export_row_limit(tenant)
    rows = responses_filtered(filters, zone=ZoneInfo(tenant.time_zone)).count()
    if rows > limit:
        raise ValidationError(
            _(
                "这次导出有 %(rows)s 条回答，超过了每次导出 %(limit)s 条的上限。"
                "请缩短时间范围，或选择更小的组织单位或触点。"
            )
            % {"rows": f"{rows:,}", "limit": f"{limit:,}"}
        )


def _takeable(now: datetime) -> Q:
    """Jobs a worker may take: queued, or running without progress for STALE_AFTER."""
    stale = Q(status=ExportJob.Status.RUNNING, progress_at__lt=now - STALE_AFTER)
    return Q(status=ExportJob.Status.QUEUED) | stale


def export_jobs_requeue(*, older_than: timedelta = timedelta(minutes=1)) -> int:
    """Hand the jobs still queued after `older_than` (the broker was down when they were asked
    for) and the running ones whose worker died to the workers again (all tenants). A job is
    taken once, so one handed over twice is harmless. Returns how many were handed over."""
    from analytics.tasks import run_export
    from organizations.broker import publish

    now = timezone.now()
    with system_context():
        waiting = list(
            ExportJob.all_tenants.filter(_takeable(now), created_at__lte=now - older_than)
            .order_by("pk")
            .values_list("pk", flat=True)[:100]
        )
    return sum(publish(run_export, job_id) for job_id in waiting)


def export_files_expire() -> int:
    """Remove the files of the exports finished more than CEM_EXPORT_KEEP_DAYS ago (all
    tenants), a bounded batch a run: a file of customers' answers is not kept for ever.
    Returns how many were removed."""
    until = timezone.now() - timedelta(days=settings.CEM_EXPORT_KEEP_DAYS)
    with system_context():
        jobs = list(
            ExportJob.all_tenants.filter(
                status=ExportJob.Status.DONE, finished_at__lt=until
            ).order_by("pk")[:500]
        )
        for job in jobs:
            job.file.delete(save=False)
            ExportJob.all_tenants.filter(pk=job.pk).update(status=ExportJob.Status.EXPIRED, file="")
    return len(jobs)


def export_jobs_of(user: AbstractBaseUser) -> QuerySet[ExportJob]:
    """The member's own export jobs, newest first: an export holds its asker's scope."""
    return ExportJob.objects.filter(created_by=user).order_by("-created_at", "-pk")


# ---- What a file holds


def responses_filtered(filters: DashboardFilters, *, zone: ZoneInfo) -> QuerySet[Response]:
    """The complete responses submitted in the window, in the unit's subtree, of the
    touchpoints the filters leave: what the dashboard counts, one row per response."""
    since, until = filters.window.instants(zone)
    responses = Response.objects.filter(
        status=Response.Status.COMPLETE, submitted_at__gte=since, submitted_at__lt=until
    )
    if filters.org_unit is not None:
        responses = responses.filter(org_unit__path__startswith=filters.org_unit.path)
    if filters.survey is not None:
        responses = responses.filter(survey=filters.survey)
    if filters.tag:
        responses = responses.filter(customers_tagged(filters.tag, prefix="customer__"))
    chosen = filters.touchpoints_of(touchpoint_catalogue())
    if chosen is not None:
        responses = responses.filter(touchpoint_id__in=[tp.pk for tp in chosen])
    return responses


@dataclass(frozen=True)
class QuestionColumns:
    """One column per question key over every published version of the surveys answered:
    ordered by first appearance (survey, then version, then place in the survey), so a key
    kept across versions keeps its column; headed by its latest wording."""

    keys: list[str]
    latest: dict[str, dict]  # key -> the question as its latest version has it
    by_version: dict[int, dict[str, dict]]  # version id -> key -> question

    @classmethod
    def of(cls, responses: QuerySet[Response]) -> QuestionColumns:
        versions = SurveyVersion.objects.filter(
            survey_id__in=responses.values("survey_id"), published_at__isnull=False
        ).order_by("survey_id", "number")
        keys: list[str] = []
        latest: dict[str, dict] = {}
        by_version: dict[int, dict[str, dict]] = {}
        for version in versions:
            questions = {
                question["key"]: question for question in iter_questions(version.definition)
            }
            by_version[version.pk] = questions
            keys += [key for key in questions if key not in latest]
            latest.update(questions)
        return cls(keys=keys, latest=latest, by_version=by_version)

    def headers(self) -> list[str]:
        return [f"{key} {localized(self.latest[key].get('text'), 'zh-hans')}" for key in self.keys]

    def cells(self, response: Response) -> list[object]:
        asked = self.by_version.get(response.version_id, {})
        return [
            _answer_cell(asked.get(key) or self.latest[key], response.answers, key)
            for key in self.keys
        ]


def _answer_cell(question: dict, answers: dict, key: str) -> object:
    value = answers.get(key)
    if value is None:
        return ""
    if question["type"] in NUMBER_TYPES and isinstance(value, int | float):
        return value
    shown = answer_display(question, value, "zh-hans")
    if question["type"] in CHOICE_TYPES and answers.get(other_key(key)):
        shown += f"（{answers[other_key(key)]}）"
    return shown


def fixed_headers() -> list[str]:
    return [
        _("回答编号"),
        _("提交时间"),
        _("问卷"),
        _("触点编码"),
        _("触点"),
        _("组织单位编码"),
        _("组织单位"),
        _("客户编号"),
        "NPS",
        _("NPS 类别"),
        "CSAT",
        "CES",
        _("情感"),
        _("情感分"),
        _("方面"),
        _("风险标记"),
    ]


def _label(choices, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def _fixed_cells(response: Response, zone: ZoneInfo) -> list[object]:
    score = getattr(response, "score", None)
    touchpoint, unit = response.touchpoint, response.org_unit
    cells: list[object] = [
        response.pk,
        response.submitted_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
        response.survey.name,
        touchpoint.code if touchpoint else "",
        touchpoint.name if touchpoint else "",
        unit.code if unit else "",
        unit.name if unit else "",
        response.external_customer_id,
    ]
    if score is None:  # not scored yet
        return [*cells, *[""] * 8]
    return [
        *cells,
        score.nps if score.nps is not None else "",
        score.get_nps_category_display(),
        score.csat if score.csat is not None else "",
        score.ces if score.ces is not None else "",
        _label(Sentiment, score.sentiment_label),
        round(score.sentiment_score, 3) if score.sentiment_score is not None else "",
        "；".join(
            f"{aspect.get('aspect', '')}:{_label(Sentiment, aspect.get('polarity', ''))}"
            for aspect in score.aspects
        ),
        "；".join(
            f"{_label(RiskFlag, flag.get('flag', ''))}:{flag.get('term', '')}"
            for flag in score.risk_flags
        ),
    ]


def _pages(responses: QuerySet[Response], *, last_id: int) -> Iterator[list[Response]]:
    """The responses up to `last_id` in pages of PAGE_SIZE, by id: each page one short query
    that starts after the last, so memory and the database's work per page stay constant."""
    after = 0
    rows = responses.filter(pk__lte=last_id).select_related(
        "survey", "touchpoint", "org_unit", "score"
    )
    while page := list(rows.filter(pk__gt=after).order_by("pk")[:PAGE_SIZE]):
        yield page
        after = page[-1].pk


def response_rows(
    job: ExportJob, responses: QuerySet[Response], *, zone: ZoneInfo
) -> Iterator[list[object]]:
    """The header, then a row per response as it is read; the job's rows_done is written
    once a page (one UPDATE)."""
    columns = QuestionColumns.of(responses)
    yield fixed_headers() + columns.headers()
    last_id = responses.aggregate(last=Max("pk"))["last"] or 0
    ExportJob.objects.filter(pk=job.pk).update(rows_total=responses.filter(pk__lte=last_id).count())
    done = 0
    for page in _pages(responses, last_id=last_id):
        for response in page:
            yield _fixed_cells(response, zone) + columns.cells(response)
        done += len(page)
        ExportJob.objects.filter(pk=job.pk).update(rows_done=done, progress_at=timezone.now())


# ---- Running a job


def _file_written(job: ExportJob, rows: Iterator[list[object]]) -> None:
    """Write the rows to a temporary file in the job's format, then store it as the job's file
    (the storage copies it in chunks)."""
    stamp = timezone.localtime(job.created_at, ZoneInfo(job.tenant.time_zone))
    name = f"responses-{stamp:%Y%m%d-%H%M}-{job.pk}.{job.format}"
    if job.format == ExportJob.Format.CSV:
        with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as handle:
            csv_write(rows, handle)
            handle.seek(0)
            job.file.save(name, File(handle), save=False)
    else:
        with tempfile.TemporaryFile() as handle:
            xlsx_write([(_("回答明细"), rows)], handle)
            handle.seek(0)
            job.file.save(name, File(handle), save=False)


def _report_written(job: ExportJob, filters: DashboardFilters) -> None:
    """Print the report of the job's view and store it as the job's file: one "row"."""
    ExportJob.objects.filter(pk=job.pk).update(rows_total=1)
    report = report_read(filters=filters, tenant=job.tenant)
    name = report.filename(job.format).removesuffix(f".{job.format}") + f"-{job.pk}.{job.format}"
    job.file.save(name, ContentFile(report_pdf(report)), save=False)
    ExportJob.objects.filter(pk=job.pk).update(rows_done=1, progress_at=timezone.now())


def export_run(*, job_id: int) -> str:
    """Run a queued export job, or a running one whose worker died (from the start); safe to
    run twice (a job is taken once). Returns its status."""
    with system_context():
        job = ExportJob.all_tenants.select_related("tenant", "created_by").get(pk=job_id)
    # In the tenant's language, as its scheduled reports: headers, labels and the PDF's text.
    with tenant_context(job.tenant), translation.override(job.tenant.locale):
        now = timezone.now()
        started = ExportJob.objects.filter(_takeable(now), pk=job_id).update(
            status=ExportJob.Status.RUNNING, rows_done=0, progress_at=now
        )
        if not started:
            return ExportJob.objects.get(pk=job_id).status
        status, error = ExportJob.Status.FAILED, ""
        try:
            membership = _membership_of(job.created_by)
            require_permission(membership, KIND_PERMISSIONS[job.kind])
            filters = _filters_read(job.filters, membership)
            if job.kind == ExportJob.Kind.REPORT:
                _report_written(job, filters)
            else:
                zone = ZoneInfo(job.tenant.time_zone)
                responses = responses_filtered(filters, zone=zone)
                _file_written(job, response_rows(job, responses, zone=zone))
            status = ExportJob.Status.DONE
        except (PermissionDenied, ValidationError):
            error = _("导出人已无权导出这些数据。")
        except Exception:
            logger.exception("export %s failed", job_id)
            error = _("导出失败，请稍后重试。")
        ExportJob.objects.filter(pk=job_id).update(
            status=status, file=job.file.name or "", error=error, finished_at=timezone.now()
        )
        return status
