"""Browser views of the org-unit tree: the editor (add, change, move, deactivate, delete) and
the bulk import with its job page. Owners and admins only; pages work without JavaScript (the
job page refreshes itself while the import runs)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from organizations.access import tenant_view
from organizations.models import OrgUnit, OrgUnitImport, TicketAssignment
from organizations.org_unit_import import COLUMNS, MAX_BYTES, org_unit_import_start
from organizations.org_units import (
    SENIOR_QUEUE,
    OrgUnitError,
    org_unit_activate,
    org_unit_add,
    org_unit_assignment_set,
    org_unit_deactivate,
    org_unit_delete,
    org_unit_move,
    org_unit_update,
    senior_queue_set,
)
from organizations.selectors import org_unit_choices, org_unit_manager_choices

JOB_REFRESH_SECONDS = 2


def _posted_unit(request: HttpRequest, name: str) -> OrgUnit | None:
    """The unit a form field names by id (None when empty); 404 for another tenant's."""
    value = request.POST.get(name, "")
    if not value:
        return None
    return get_object_or_404(OrgUnit.objects.all(), pk=int(value) if value.isdigit() else 0)


def _posted_manager(request: HttpRequest):
    value = request.POST.get("manager", "")
    if not value:
        return None
    return get_object_or_404(get_user_model(), pk=int(value) if value.isdigit() else 0)


def _pickers() -> dict:
    return {
        "parent_choices": org_unit_choices(),
        "manager_choices": org_unit_manager_choices(),
        "kinds": OrgUnit.Kind.choices,
    }


@tenant_view("org.manage")
def org_units(request: HttpRequest) -> HttpResponse:
    problem = None
    if request.method == "POST":
        try:
            unit = org_unit_add(
                name=request.POST.get("name", ""),
                code=request.POST.get("code", ""),
                kind=request.POST.get("kind", ""),
                parent=_posted_unit(request, "parent"),
                manager=_posted_manager(request),
                by=request.user,
            )
        except OrgUnitError as error:
            problem = str(error)
        else:
            messages.success(request, _("已添加单位「%(name)s」。") % {"name": unit.name})
            return redirect("org_units", tenant_slug=request.tenant.slug)
    units = OrgUnit.objects.select_related("manager").order_by("path")
    context = {"units": units, "problem": problem, "posted": request.POST, **_pickers()}
    return render(request, "organizations/org_units.html", context, status=400 if problem else 200)


@tenant_view("org.manage")
def org_unit_edit(request: HttpRequest, unit_id: int) -> HttpResponse:
    unit = get_object_or_404(OrgUnit.objects.select_related("parent", "manager"), pk=unit_id)
    problem = None
    if request.method == "POST":
        action, by = request.POST.get("action", ""), request.user
        try:
            if action == "update":
                org_unit_update(
                    unit=unit,
                    name=request.POST.get("name", ""),
                    code=request.POST.get("code", ""),
                    kind=request.POST.get("kind", ""),
                    manager=_posted_manager(request),
                    by=by,
                )
            elif action == "move":
                org_unit_move(unit=unit, parent=_posted_unit(request, "parent"), by=by)
            elif action in ("senior_queue", "senior_queue_clear"):
                senior_queue_set(unit=unit if action == "senior_queue" else None, by=by)
            elif action == "assignment":
                org_unit_assignment_set(
                    unit=unit, mode=request.POST.get("ticket_assignment", ""), by=by
                )
            elif action == "deactivate":
                org_unit_deactivate(unit=unit, by=by)
            elif action == "activate":
                org_unit_activate(unit=unit, by=by)
            elif action == "delete":
                org_unit_delete(unit=unit, by=by)
                messages.success(request, _("已删除单位「%(name)s」。") % {"name": unit.name})
                return redirect("org_units", tenant_slug=request.tenant.slug)
            else:
                return HttpResponse(_("未知的操作。"), status=400)
        except OrgUnitError as error:
            problem = str(error)
            unit.refresh_from_db()
        else:
            messages.success(request, _("已保存。"))
            return redirect("org_unit_edit", tenant_slug=request.tenant.slug, unit_id=unit.pk)
    # A unit cannot move under itself or a descendant: those are not offered.
    move_choices = org_unit_choices().exclude(path__startswith=unit.path)
    context = {
        "unit": unit,
        "problem": problem,
        "move_choices": move_choices,
        "assignment_modes": TicketAssignment.choices,
        "is_senior_queue": request.tenant.settings.get(SENIOR_QUEUE) == unit.pk,
        **_pickers(),
    }
    return render(
        request, "organizations/org_unit_edit.html", context, status=400 if problem else 200
    )


@tenant_view("org.manage")
def org_unit_import(request: HttpRequest) -> HttpResponse:
    problem = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            problem = _("请选择一个 CSV 或 .xlsx 文件。")
        elif upload.size > MAX_BYTES:
            problem = _("文件超过 %(mb)d MB。") % {"mb": MAX_BYTES // (1024 * 1024)}
        else:
            job = org_unit_import_start(
                file_name=upload.name, content=upload.read(), by=request.user
            )
            return redirect("org_unit_import_job", tenant_slug=request.tenant.slug, job_id=job.pk)
    jobs = OrgUnitImport.objects.select_related("created_by").defer("content")
    context = {
        "jobs": jobs.order_by("-created_at")[:10],
        "problem": problem,
        "columns": list(COLUMNS),
        "max_mb": MAX_BYTES // (1024 * 1024),
    }
    return render(
        request, "organizations/org_unit_import.html", context, status=400 if problem else 200
    )


@require_GET
@tenant_view("org.manage")
def org_unit_import_job(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(OrgUnitImport.objects.defer("content"), pk=job_id)
    return render(
        request,
        "organizations/org_unit_import_job.html",
        {"job": job, "refresh_seconds": JOB_REFRESH_SECONDS},
    )
