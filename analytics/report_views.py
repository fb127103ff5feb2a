"""Report pages: the dashboard's view downloaded as an Excel workbook of the filters in the query
string, inside the member's scope (analytics/reports.py; its PDF is printed by a worker, as an
export: analytics/exports.py), and the scheduled reports (analytics/report_schedules.py)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from analytics.filters import dashboard_filters_refused
from analytics.forms import ReportScheduleForm
from analytics.models import ReportSchedule
from analytics.report_schedules import (
    kept_filters,
    report_deliveries_of,
    report_schedule_delete,
    report_schedule_save,
    report_schedules_of,
)
from analytics.reports import DashboardReport, report_read, report_xlsx
from organizations.access import tenant_view
from organizations.services import audit_record
from organizations.spreadsheets import XLSX_TYPE


def _report_response(
    request: HttpRequest,
    *,
    render: Callable[[DashboardReport], bytes],
    kind: str,
    content_type: str,
) -> HttpResponse:
    """The report of the dashboard's filters as an attachment; filters the dashboard would
    refuse (a unit outside the member's scope among them) answer 400 and no file. Audited."""
    try:
        filters = dashboard_filters_refused(
            request.GET.urlencode(),
            scope=request.membership.org_unit,
            tenant=request.tenant,
        )
    except ValidationError as error:
        return HttpResponseBadRequest(
            " ".join(error.messages), content_type="text/plain; charset=utf-8"
        )
    report = report_read(filters=filters, tenant=request.tenant)
    content = render(report)
    audit_record(
        by=request.user,
        action="report.download",
        target=request.membership,
        after={"format": kind, "filters": filters.query()},
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{report.filename(kind)}"'
    return response


@require_GET
@tenant_view("report.download")
def dashboard_report_xlsx(request: HttpRequest) -> HttpResponse:
    return _report_response(request, render=report_xlsx, kind="xlsx", content_type=XLSX_TYPE)


# ---- Scheduled reports

LOG_ROWS = 50


def _schedule_of(request: HttpRequest, schedule_id: int) -> ReportSchedule:
    """One of the schedules the member may see (404 for any other, of any tenant)."""
    return get_object_or_404(report_schedules_of(request.user), pk=schedule_id)


def _schedule_form_page(
    request: HttpRequest, schedule: ReportSchedule | None, initial: dict
) -> HttpResponse:
    """Show the schedule's form, or save it and go back to the list."""
    form = ReportScheduleForm(
        request.POST or None, initial=initial, scope=request.membership.org_unit
    )
    if request.method == "POST" and form.is_valid():
        try:
            report_schedule_save(
                schedule=schedule,
                name=form.cleaned_data["name"],
                frequency=form.cleaned_data["frequency"],
                org_unit=form.cleaned_data["org_unit"],
                per_unit_kind=form.cleaned_data["per_unit_kind"],
                filters=form.cleaned_data["filters"],
                recipients=list(form.cleaned_data["recipients"]),
                is_active=form.cleaned_data["is_active"],
                by=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("定期报告已保存。"))
            return redirect("report_schedules", tenant_slug=request.tenant.slug)
    context = {"form": form, "schedule": schedule, "filters_query": form["filters"].value() or ""}
    status = 400 if request.method == "POST" else 200
    return render(request, "analytics/report_schedule_edit.html", context, status=status)


@require_GET
@tenant_view("report_schedule.manage")
def report_schedule_list(request: HttpRequest) -> HttpResponse:
    """The schedules of units inside the member's scope and the log of what they sent."""
    schedules = report_schedules_of(request.user)
    context = {
        "schedules": list(schedules.prefetch_related("recipients__user")),
        "deliveries": list(report_deliveries_of(schedules)[:LOG_ROWS]),
    }
    return render(request, "analytics/report_schedules.html", context)


@require_http_methods(["GET", "POST"])
@tenant_view("report_schedule.manage")
def report_schedule_create(request: HttpRequest) -> HttpResponse:
    """A new schedule of the dashboard view whose filters come in the query string."""
    scope = request.membership.org_unit
    initial = {
        "frequency": ReportSchedule.Frequency.WEEKLY,
        "org_unit": scope,
        "filters": kept_filters(request.GET.urlencode()),
        "is_active": True,
    }
    unit = request.GET.get("unit", "")
    if unit.isdigit():
        initial["org_unit"] = unit
    return _schedule_form_page(request, None, initial)


@require_http_methods(["GET", "POST"])
@tenant_view("report_schedule.manage")
def report_schedule_edit(request: HttpRequest, schedule_id: int) -> HttpResponse:
    schedule = _schedule_of(request, schedule_id)
    initial = {
        "name": schedule.name,
        "frequency": schedule.frequency,
        "org_unit": schedule.org_unit,
        "per_unit_kind": schedule.per_unit_kind,
        "recipients": list(schedule.recipients.all()),
        "is_active": schedule.is_active,
        "filters": schedule.filters,
    }
    return _schedule_form_page(request, schedule, initial)


@require_POST
@tenant_view("report_schedule.manage")
def report_schedule_remove(request: HttpRequest, schedule_id: int) -> HttpResponse:
    report_schedule_delete(schedule=_schedule_of(request, schedule_id), by=request.user)
    messages.success(request, _("定期报告已删除。"))
    return redirect("report_schedules", tenant_slug=request.tenant.slug)
