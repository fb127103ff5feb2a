"""The respondent's pages: answer a survey through its public link, then be thanked.

Server-rendered and mobile-first; they work without JavaScript. The link token names the
tenant, so these views set it themselves.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from cem.ratelimit import client_address, rate_limit_exceeded
from cem.tenancy import tenant_context
from surveys.definition import iter_questions, localized, questions_for_display
from surveys.models import Link
from surveys.selectors import link_by_token
from surveys.services import ResponseRejectedError, SurveyClosedError, response_submit


def _link_or_404(token: str) -> Link:
    link = link_by_token(token)
    if link is None:
        raise Http404(_("问卷链接无效。"))
    return link


def _raw_answers(request: HttpRequest, definition: dict) -> dict:
    raw = {}
    for question in iter_questions(definition):
        name = f"q_{question['key']}"
        if question["type"] == "multiple_choice":
            raw[question["key"]] = request.POST.getlist(name)
        else:
            raw[question["key"]] = request.POST.get(name)
    return raw


def _started_at(value: str | None) -> datetime | None:
    parsed = parse_datetime(value or "")
    return parsed if parsed and parsed <= timezone.now() else None


def respond(request: HttpRequest, token: str) -> HttpResponse:
    link = _link_or_404(token)
    survey = link.survey
    language = request.LANGUAGE_CODE
    with tenant_context(link.tenant):
        if (link.expires_at and link.expires_at <= timezone.now()) or not survey.is_open():
            return render(request, "surveys/respond_closed.html", {"survey": survey}, status=410)
        definition = survey.live_version.definition
        values: dict = {}
        errors: dict = {}
        form_error = ""
        if request.method == "POST":
            if rate_limit_exceeded(
                scope="respond", key=client_address(request), limit=settings.CEM_PUBLIC_SUBMIT_RATE
            ):
                return render(
                    request,
                    "surveys/respond_closed.html",
                    {"survey": survey, "rate_limited": True},
                    status=429,
                )
            values = _raw_answers(request, definition)
            try:
                response_submit(
                    survey=survey,
                    raw_answers=values,
                    link=link,
                    language=language,
                    client_submission_id=request.POST.get("submission_id", "")[:64],
                    started_at=_started_at(request.POST.get("started_at")),
                )
            except ResponseRejectedError as rejected:
                errors = rejected.errors
                form_error = _("有 %(count)s 道题需要修改，请查看红色提示。") % {
                    "count": len(errors)
                }
            except SurveyClosedError:
                return render(
                    request, "surveys/respond_closed.html", {"survey": survey}, status=410
                )
            else:
                return redirect("respond_thanks", token=token)
        context = {
            "link": link,
            "title": localized(definition.get("title"), language) or survey.name,
            "questions": questions_for_display(definition, language, values, errors),
            "form_error": form_error,
            "submission_id": request.POST.get("submission_id") or uuid.uuid4().hex,
            "started_at": request.POST.get("started_at") or timezone.now().isoformat(),
        }
        return render(request, "surveys/respond.html", context)


def respond_thanks(request: HttpRequest, token: str) -> HttpResponse:
    link = _link_or_404(token)
    definition = link.survey.live_version.definition if link.survey.live_version_id else {}
    return render(
        request,
        "surveys/respond_thanks.html",
        {"title": localized(definition.get("title"), request.LANGUAGE_CODE) or link.survey.name},
    )
