"""Export pages: start an export of the dashboard's responses or its PDF report, list one's
exports with their progress, and download a finished file."""

from __future__ import annotations

from pathlib import PurePosixPath

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from analytics.exports import KIND_PERMISSIONS, export_jobs_of, export_start
from analytics.filters import QUERY_MAX
from analytics.models import ExportJob
from organizations.access import require_permission, tenant_view
from organizations.services import audit_record

REFRESH_SECONDS = 3
LISTED = 20


# Exports are listed and downloaded by whoever may ask for one of some kind (the PDF report is
# the viewers' too); starting and downloading check the kind's own permission.
ANY_EXPORT = "report.download"


@require_POST
@tenant_view(ANY_EXPORT)
def export_create(request: HttpRequest) -> HttpResponse:
    """Start an export of `kind` (the responses, or the PDF report) of the dashboard's filters
    (posted as `filters`, its query string); refused filters go back to the dashboard with the
    reason, a kind the member may not ask for answers 403."""
    query = QueryDict(request.POST.get("filters", "")).urlencode()
    kind = request.POST.get("kind", ExportJob.Kind.RESPONSES)
    try:
        export_start(
            query=query, file_format=request.POST.get("format", ""), by=request.user, kind=kind
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        dashboard = reverse("dashboard", args=[request.tenant.slug])
        return redirect(f"{dashboard}?{query}" if len(query) <= QUERY_MAX else dashboard)
    if kind == ExportJob.Kind.REPORT:
        messages.success(request, _("正在生成 PDF 报告，完成后可在此下载。"))
    else:
        messages.success(request, _("已开始导出，完成后可在此下载。"))
    return redirect("exports", tenant_slug=request.tenant.slug)


@require_GET
@tenant_view(ANY_EXPORT)
def export_list(request: HttpRequest) -> HttpResponse:
    """The member's exports, newest first; the page reloads itself while any of them runs."""
    jobs = list(export_jobs_of(request.user)[:LISTED])
    running = any(job.is_running for job in jobs)
    context = {"jobs": jobs, "refresh_seconds": REFRESH_SECONDS if running else None}
    return render(request, "analytics/exports.html", context)


@require_GET
@tenant_view(ANY_EXPORT)
def export_download(request: HttpRequest, export_id: int) -> FileResponse:
    """The finished file of one of the member's own exports (404 for anyone else's), if they
    may still ask for its kind (403: a manager made a viewer keeps no responses' file)."""
    job = export_jobs_of(request.user).filter(pk=export_id, status=ExportJob.Status.DONE).first()
    if job is None or not job.file:
        raise Http404
    require_permission(request.membership, KIND_PERMISSIONS[job.kind])
    audit_record(by=request.user, action="export.download", target=job)
    return FileResponse(
        job.file.open("rb"), as_attachment=True, filename=PurePosixPath(job.file.name).name
    )
