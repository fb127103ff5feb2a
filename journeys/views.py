"""Browser views of journeys: the editor where a CX manager creates
journeys (blank, from a template or a JSON file) and changes their stages and touchpoints.
Every change goes through journeys.services; pages work without JavaScript."""

from __future__ import annotations

import copy
import json

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from journeys.journey_templates import TEMPLATES
from journeys.models import Channel, Journey, KeyMoment, Stage, Touchpoint
from journeys.services import (
    JourneyDocumentError,
    Problem,
    journey_create,
    journey_export,
    journey_remove,
    journey_rename,
    journey_restore,
    stage_add,
    stage_move,
    stage_remove,
    stage_rename,
    stages_reorder,
    touchpoint_add,
    touchpoint_remove,
    touchpoint_restore,
    touchpoint_update,
)
from organizations.access import tenant_view
from organizations.json_input import JsonInputError, json_input_loads
from organizations.models import OrgUnit

IMPORT_MAX_BYTES = 1_000_000


def _document_from_request(request: HttpRequest) -> dict:
    """The journey document a new-journey form names: a template, a JSON file (or pasted
    JSON), or a blank journey with its name and first stage."""
    source = request.POST.get("source")
    if source == "template":
        template = TEMPLATES.get(request.POST.get("template", ""))
        if template is None:
            raise JourneyDocumentError([Problem("template", _("请选择一个模板。"))])
        return copy.deepcopy(template["document"])
    if source == "import":
        upload = request.FILES.get("file")
        raw = upload.read(IMPORT_MAX_BYTES + 1) if upload else request.POST.get("document", "")
        raw = raw.encode() if isinstance(raw, str) else raw
        if len(raw) > IMPORT_MAX_BYTES:
            raise JourneyDocumentError([Problem("file", _("文件超过 1 MB。"))])
        try:
            return json_input_loads(raw)
        except JsonInputError as error:
            raise JourneyDocumentError(
                [Problem("file", _("不是有效的 JSON：%(error)s") % {"error": error})]
            ) from error
    return {
        "name": request.POST.get("name", ""),
        "description": request.POST.get("description", ""),
        "stages": [{"name": request.POST.get("first_stage", ""), "touchpoints": []}],
    }


@tenant_view("journey.manage")
def journey_new(request: HttpRequest) -> HttpResponse:
    problems: list[Problem] = []
    if request.method == "POST":
        try:
            journey = journey_create(document=_document_from_request(request), by=request.user)
        except JourneyDocumentError as error:
            problems = error.problems
        else:
            messages.success(request, _("已创建旅程「%(name)s」。") % {"name": journey.name})
            return redirect("journey_edit", tenant_slug=request.tenant.slug, journey_id=journey.pk)
    return render(
        request,
        "journeys/journey_new.html",
        {"templates": TEMPLATES, "problems": problems, "posted": request.POST},
        status=400 if problems else 200,
    )


def _editor_context(journey: Journey, **extra) -> dict:
    stages = Stage.objects.filter(journey=journey).order_by("position", "id")
    touchpoints = (
        Touchpoint.objects.filter(stage__journey=journey).select_related("org_unit").order_by("id")
    )
    by_stage: dict[int, list[Touchpoint]] = {}
    for touchpoint in touchpoints:
        by_stage.setdefault(touchpoint.stage_id, []).append(touchpoint)
    return {
        "journey": journey,
        "stages": [(stage, by_stage.get(stage.pk, [])) for stage in stages],
        "channels": Channel.choices,
        "key_moments": KeyMoment.choices,
        # Active units, and any deactivated one a touchpoint still names (kept selectable, so
        # saving the touchpoint does not drop it).
        "org_units": OrgUnit.objects.filter(
            Q(is_active=True) | Q(pk__in=touchpoints.values("org_unit"))
        ).order_by("path"),
        **extra,
    }


def _touchpoint_posted(request: HttpRequest) -> dict:
    return {
        name: request.POST.get(name, "")
        for name in ("code", "name", "channel", "key_moment", "org_unit")
    }


@tenant_view("journey.manage")
def journey_edit(request: HttpRequest, journey_id: int) -> HttpResponse:
    journey = get_object_or_404(Journey.objects.all(), pk=journey_id)
    if request.method != "POST":
        return render(request, "journeys/journey_edit.html", _editor_context(journey))
    action = request.POST.get("action", "")
    stage = touchpoint = None
    if request.POST.get("stage"):
        stage = get_object_or_404(
            Stage.objects.filter(journey=journey), pk=_int(request.POST["stage"])
        )
    if request.POST.get("touchpoint"):
        touchpoint = get_object_or_404(
            Touchpoint.objects.filter(stage__journey=journey), pk=_int(request.POST["touchpoint"])
        )
    by = request.user
    try:
        if action == "rename_journey":
            journey_rename(
                journey=journey,
                name=request.POST.get("name", ""),
                description=request.POST.get("description", ""),
                by=by,
            )
        elif action == "add_stage":
            stage_add(journey=journey, name=request.POST.get("name", ""), by=by)
        elif action == "rename_stage" and stage:
            stage_rename(stage=stage, name=request.POST.get("name", ""), by=by)
        elif action in ("stage_up", "stage_down") and stage:
            stage_move(stage=stage, offset=-1 if action == "stage_up" else 1, by=by)
        elif action == "add_touchpoint" and stage:
            touchpoint_add(stage=stage, fields=_touchpoint_posted(request), by=by)
        elif action == "update_touchpoint" and touchpoint:
            touchpoint_update(touchpoint=touchpoint, fields=_touchpoint_posted(request), by=by)
        elif action == "remove_touchpoint" and touchpoint:
            outcome = touchpoint_remove(touchpoint=touchpoint, by=by)
            messages.info(request, _REMOVED[outcome] % {"name": touchpoint.name})
        elif action == "restore_touchpoint" and touchpoint:
            touchpoint_restore(touchpoint=touchpoint, by=by)
        elif action == "remove_stage" and stage:
            stage_remove(stage=stage, by=by)
        elif action == "reorder_stages":
            order = [_int(pk) for pk in request.POST.get("order", "").split(",")]
            stages_reorder(journey=journey, order=order, by=by)
        elif action == "remove_journey":
            outcome = journey_remove(journey=journey, by=by)
            messages.info(request, _REMOVED[outcome] % {"name": journey.name})
            if outcome == "deleted":
                return redirect("journey_map", tenant_slug=request.tenant.slug)
        elif action == "restore_journey":
            journey_restore(journey=journey, by=by)
        else:
            return HttpResponse(_("未知的操作。"), status=400)
    except JourneyDocumentError as error:
        journey.refresh_from_db()
        context = _editor_context(
            journey,
            problems=error.problems,
            failed_action=action,
            refill_stage=stage.pk if action == "add_touchpoint" and stage else None,
            posted=request.POST,
        )
        return render(request, "journeys/journey_edit.html", context, status=400)
    messages.success(request, _("已保存。"))
    return redirect("journey_edit", tenant_slug=request.tenant.slug, journey_id=journey.pk)


_REMOVED = {
    "deleted": gettext_lazy("已删除「%(name)s」。"),
    "archived": gettext_lazy(
        "「%(name)s」已有数据，已归档而不是删除：不再显示在旅程图上，数据保留，可随时恢复。"
    ),
}


def _int(value: str) -> int:
    return int(value) if value.isdigit() and len(value) < 18 else 0


@require_GET
@tenant_view("journey.manage")
def journey_export_json(request: HttpRequest, journey_id: int) -> HttpResponse:
    journey = get_object_or_404(Journey.objects.all(), pk=journey_id)
    response = HttpResponse(
        json.dumps(journey_export(journey), ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="journey-{journey.pk}.json"'
    return response
