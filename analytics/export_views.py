"""Export pages: start an export of the dashboard's responses, list one's exports with their
progress, and download a finished file."""

from __future__ import annotations

from pathlib import PurePosixPath

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from analytics.exports import export_jobs_of, export_start
from analytics.filters import QUERY_MAX
from analytics.models import ExportJob
from organizations.access import tenant_view
from organizations.services import audit_record

REFRESH_SECONDS = 3
LISTED = 20


@require_POST
@tenant_view("response.export")
def export_create(request: HttpRequest) -> HttpResponse:
    """Start an export of the responses the dashboard's filters (posted as `filters`, its query
    string) leave; refused filters go back to the dashboard with the reason."""
    query = QueryDict(request.POST.get("filters", "")).urlencode()
    try:
        export_start(query=query, file_format=request.POST.get("format", ""), by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        dashboard = reverse("dashboard", args=[request.tenant.slug])
        return redirect(f"{dashboard}?{query}" if len(query) <= QUERY_MAX else dashboard)
    messages.success(request, _("已开始导出，完成后可在此下载。"))
    return redirect("exports", tenant_slug=request.tenant.slug)


@require_GET
@tenant_view("response.export")
def export_list(request: HttpRequest) -> HttpResponse:
    """The member's exports, newest first; the page reloads itself while any of them runs."""
    jobs = list(export_jobs_of(request.user)[:LISTED])
    running = any(job.is_running for job in jobs)
    context = {"jobs": jobs, "refresh_seconds": REFRESH_SECONDS if running else None}
    return render(request, "analytics/exports.html", context)


@require_GET
@tenant_view("response.export")
def export_download(request: HttpRequest, export_id: int) -> FileResponse:
    """The finished file of one of the member's own exports (404 for anyone else's)."""
    job = export_jobs_of(request.user).filter(pk=export_id, status=ExportJob.Status.DONE).first()
    if job is None or not job.file:
        raise Http404
    audit_record(by=request.user, action="export.download", target=job)
    return FileResponse(
        job.file.open("rb"), as_attachment=True, filename=PurePosixPath(job.file.name).name
    )
