"""Browser views for CX managers: survey list, builder, publishing, links and QR codes."""

from __future__ import annotations

import io

import qrcode
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cem.access import require_permission, tenant_view
from surveys import services
from surveys.definition import iter_questions
from surveys.forms import QuestionAddForm, SurveyCreateForm
from surveys.models import Link, Survey
from surveys.rendering import questions_for_display
from surveys.selectors import survey_list


def _survey(survey_id: int) -> Survey:
    return get_object_or_404(
        Survey.objects.select_related("touchpoint", "live_version"), pk=survey_id
    )


def public_link_url(request: HttpRequest, link: Link) -> str:
    return request.build_absolute_uri(reverse("respond", args=[link.token]))


@tenant_view("survey.view")
def survey_index(request: HttpRequest) -> HttpResponse:
    form = SurveyCreateForm(request.POST or None)
    if request.method == "POST":
        require_permission(request.membership, "survey.manage")
        if form.is_valid():
            survey = services.survey_create(
                name=form.cleaned_data["name"],
                touchpoint=form.cleaned_data["touchpoint"],
                by=request.user,
            )
            return redirect("survey_builder", tenant_slug=request.tenant.slug, survey_id=survey.pk)
    return render(request, "surveys/survey_index.html", {"surveys": survey_list(), "form": form})


@tenant_view("survey.manage")
def survey_builder(request: HttpRequest, survey_id: int) -> HttpResponse:
    survey = _survey(survey_id)
    draft = survey.versions.order_by("-number").first()
    form = QuestionAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.survey_question_add(
                survey=survey,
                qtype=form.cleaned_data["qtype"],
                text_zh=form.cleaned_data["text_zh"],
                text_en=form.cleaned_data["text_en"],
                options=form.option_pairs(),
                required=form.cleaned_data["required"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("survey_builder", tenant_slug=request.tenant.slug, survey_id=survey.pk)
    links = [
        (link, public_link_url(request, link)) for link in survey.links.select_related("org_unit")
    ]
    return render(
        request,
        "surveys/survey_builder.html",
        {
            "survey": survey,
            "draft": draft,
            "questions": questions_for_display(
                list(iter_questions(draft.definition)),
                definition=draft.definition,
                language="zh-hans",
            )
            if draft
            else [],
            "has_unpublished_changes": draft is not None and not draft.is_frozen,
            "form": form,
            "links": links,
        },
    )


@require_POST
@tenant_view("survey.manage")
def survey_question_remove(request: HttpRequest, survey_id: int, key: str) -> HttpResponse:
    services.survey_question_remove(survey=_survey(survey_id), key=key)
    return redirect("survey_builder", tenant_slug=request.tenant.slug, survey_id=survey_id)


@require_POST
@tenant_view("survey.manage")
def survey_publish(request: HttpRequest, survey_id: int) -> HttpResponse:
    survey = _survey(survey_id)
    try:
        version = services.survey_publish(survey=survey, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("已发布第 %(number)s 版。") % {"number": version.number})
    return redirect("survey_builder", tenant_slug=request.tenant.slug, survey_id=survey_id)


@require_POST
@tenant_view("survey.manage")
def survey_close(request: HttpRequest, survey_id: int) -> HttpResponse:
    services.survey_close(survey=_survey(survey_id), by=request.user)
    return redirect("survey_builder", tenant_slug=request.tenant.slug, survey_id=survey_id)


@tenant_view("survey.view")
def link_qr_png(request: HttpRequest, survey_id: int, link_id: int) -> HttpResponse:
    link = get_object_or_404(Link.objects.all(), pk=link_id, survey_id=survey_id)
    image = qrcode.make(public_link_url(request, link), box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    response = HttpResponse(buffer.getvalue(), content_type="image/png")
    response["Content-Disposition"] = f'inline; filename="survey-{survey_id}-link-{link_id}.png"'
    return response
