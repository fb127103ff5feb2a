"""The respondent's pages: answer a survey page by page through its link, then be thanked.

Server-rendered and mobile-first; they work without JavaScript (logic runs on the server).
Progress is saved after every page, so reloading or coming back resumes where the respondent
stopped: a personal link resumes on any device, an anonymous link on the same browser (a
cookie holds its resume key). The link token names the tenant, so these views set it.
"""

from __future__ import annotations

import re
import uuid

from csp.decorators import csp_replace
from django.conf import settings
from django.core.signing import Signer
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt

from organizations.config_version import SeenVersion, rate_limits_count_seeing
from organizations.json_input import text_without_unstorable
from organizations.ratelimit import Limit, client_address
from organizations.tenancy import tenant_context
from surveys.definition import localized, page_of
from surveys.distribution import invitation_track
from surveys.logic import questions_to_show
from surveys.models import Link, Response
from surveys.rendering import (
    questions_for_display,
    raw_answers_from_form,
    respondent_theme,
    thanks_redirect_url,
)
from surveys.selectors import link_by_token, link_tenant_kept, response_in_progress
from surveys.services import (
    ResponseAlreadyStartedError,
    SurveyClosedError,
    response_begin,
    response_page_save,
    survey_closed_error,
    survey_unavailable_reason,
)

RESUME_COOKIE_DAYS = 30
# What the server issues: a uuid's hex for anonymous links, "link:<token>" for personal ones.
RESUME_KEY = re.compile(r"[A-Za-z0-9:_-]{1,64}")
HIDDEN_VALUE_MAX = 200


def _link_or_404(token: str, seen: SeenVersion | None = None) -> Link:
    link = link_by_token(token, seen=seen)
    if link is None:
        raise Http404(_("问卷链接无效。"))
    return link


def _resume_cookie(link: Link) -> str:
    return f"cem_r_{link.pk}"


def _done_cookie(link: Link) -> str:
    return f"cem_d_{link.pk}"


def _resume_key(request: HttpRequest, link: Link) -> str:
    """One response per personal link; for an anonymous link, one per browser at a time: the
    key in its cookie, else the one carried in the URL (browsers without cookies). A key that
    names no response of this link is ignored, never adopted: keys are issued by the server."""
    if link.kind == Link.Kind.PERSONAL:
        return f"link:{link.token}"
    key = request.COOKIES.get(_resume_cookie(link)) or request.GET.get("r") or ""
    return key if RESUME_KEY.fullmatch(key) else ""


def _new_resume_key(link: Link) -> str:
    return f"link:{link.token}" if link.kind == Link.Kind.PERSONAL else uuid.uuid4().hex


def _form_token(link: Link, resume_key: str) -> str:
    """The respondent form's own proof that the server rendered it for this link and key.

    It stands in for Django's CSRF cookie, which a page framed on a partner's site (the
    embed widget, app web views) never gets back: the form is exempt from the cookie check
    and checked by this signature instead. Staff pages keep the cookie check.
    """
    return Signer(salt="surveys.respond").signature(f"{link.token}:{resume_key}")


def _posted_resume_key(request: HttpRequest, link: Link) -> str | None:
    """The resume key a posted page was rendered with, if its form token proves it."""
    key = request.POST.get("resume_key", "")
    if RESUME_KEY.fullmatch(key) and constant_time_compare(
        request.POST.get("form_token", ""), _form_token(link, key)
    ):
        return key
    return None


def _hidden_from_request(request: HttpRequest, definition: dict, source) -> dict:
    """Hidden fields the survey declares, taken from the link's query string or form
    (characters that cannot be stored, NUL and unpaired surrogates, are dropped)."""
    names = definition.get("hidden_fields", [])
    return {
        name: text_without_unstorable(str(source[prefix + name])[:HIDDEN_VALUE_MAX])
        for name in names
        for prefix in ("", "h_")
        if source.get(prefix + name)
    }


def _theme(link: Link, definition: dict) -> dict:
    return respondent_theme(link.tenant.settings, definition)


def _to_thanks(request: HttpRequest) -> HttpResponseRedirect:
    """To the thank-you page, thanks/ under the link's page (cem/urls.py), which is the path
    this request came to: built from it rather than reversed, which is a measurable share of
    the busiest POST there is."""
    return HttpResponseRedirect(request.path + "thanks/")


def _closed(request: HttpRequest, link: Link, error: SurveyClosedError) -> HttpResponse:
    status = 200 if error.reason == "already_answered" else 410
    context = {"survey": link.survey, "message": str(error), "reason": error.reason}
    return render(request, "surveys/respond_closed.html", context, status=status)


# Respondent pages may be framed by any site: the embed widget and app web views show them in
# iframes. They are exempt from the CSRF cookie check and carry their own signed form token.
FRAMED_ANYWHERE = csp_replace({"frame-ancestors": ["*"]})


@csrf_exempt
@xframe_options_exempt
@FRAMED_ANYWHERE
def respond(request: HttpRequest, token: str) -> HttpResponse:
    over_limit, seen = False, None
    if request.method == "POST":
        # Counted first, in the round trip that reads the link's tenant's configuration
        # version, by which a link the process keeps is used without reading it again.
        limit = Limit("respond", client_address(request), settings.CEM_PUBLIC_SUBMIT_RATE)
        (over_limit,), seen = rate_limits_count_seeing([limit], tenant_id=link_tenant_kept(token))
    try:
        reply = _respond(request, token, over_limit=over_limit, seen=seen, stored_first=False)
    except ResponseAlreadyStartedError:
        # The page was rendered for a respondent with nothing stored, but a response is
        # stored under its key by now (a double click, a second tab): go on with that one.
        reply = _respond(request, token, over_limit=over_limit, seen=seen, stored_first=True)
    # A page shows what the respondent entered (a personal link: their answers), so none is
    # cached. A redirect shows nothing and no cache keeps one it is not told to keep: the
    # busiest POST there is skips the headers.
    if not isinstance(reply, HttpResponseRedirect):
        add_never_cache_headers(reply)
    return reply


def _respond(
    request: HttpRequest,
    token: str,
    *,
    over_limit: bool,
    seen: SeenVersion | None,
    stored_first: bool,
) -> HttpResponse:
    link = _link_or_404(token, seen)
    survey = link.survey
    with tenant_context(link.tenant):
        stale_form = False
        if request.method == "POST":
            resume_key = _posted_resume_key(request, link)
            stale_form = resume_key is None
            if stale_form:
                resume_key = _resume_key(request, link)
        else:
            resume_key = _resume_key(request, link)
        # A form rendered before anything was stored for its key (a new respondent's first
        # page, the busiest post there is) is saved without reading for a stored response:
        # the key's unique constraint tells if one was stored meanwhile.
        unsaved_form = not stored_first and not stale_form and request.POST.get("unsaved") == "1"
        response = None if unsaved_form else response_in_progress(link=link, resume_key=resume_key)
        if response is not None and response.status == Response.Status.COMPLETE:
            if request.method == "POST":  # a double click on the last page
                return _to_thanks(request)
            if link.kind == Link.Kind.PERSONAL or link.one_response_per_device:
                return _closed(request, link, survey_closed_error("already_answered"))
            response = None
        if link.one_response_per_device and request.COOKIES.get(_done_cookie(link)):
            return _closed(request, link, survey_closed_error("already_answered"))
        reason = survey_unavailable_reason(survey=survey, link=link)
        if reason:
            return _closed(request, link, survey_closed_error(reason))
        if request.method == "POST":
            if over_limit:
                error = SurveyClosedError(_("提交过于频繁，请稍后再试。"), "rate_limited")
                context = {"survey": survey, "message": str(error), "reason": error.reason}
                return render(request, "surveys/respond_closed.html", context, status=429)
            if not stale_form:
                return _page_post(request, link, response, resume_key)
        elif link.kind == Link.Kind.PERSONAL:
            invitation_track(link=link, stage="opened")
        if response is None:
            response = response_begin(
                survey=survey,
                link=link,
                resume_key=_new_resume_key(link),
                language=request.LANGUAGE_CODE,
                hidden=_hidden_from_request(
                    request,
                    survey.live_version.definition,
                    request.POST if stale_form else request.GET,
                ),
            )
        page_key = response.page_path[-1]
        if not stale_form:
            return _page_render(request, link, response, page_key, values=response.answers)
        # A form the server cannot vouch for (rendered before a deploy, or forged): nothing is
        # saved; the page comes back with what was entered, to be sent once more.
        entered = response.answers
        if request.POST.get("page") == page_key:
            page = page_of(response.version.definition, page_key)
            questions = questions_to_show(page, response.answers, response.extra)
            entered = {**entered, **raw_answers_from_form(request.POST, questions)}
        return _page_render(
            request,
            link,
            response,
            page_key,
            values=entered,
            notice=_("页面已过期，请确认您的回答后再提交一次。"),
            status=400,
        )


def _page_post(request: HttpRequest, link: Link, response: Response | None, resume_key: str):
    if response is None:
        definition = link.survey.live_version.definition
        response = response_begin(
            survey=link.survey,
            link=link,
            resume_key=resume_key,
            language=request.LANGUAGE_CODE,
            hidden=_hidden_from_request(request, definition, request.POST),
        )
    definition = response.version.definition
    page = page_of(definition, request.POST.get("page", ""))
    if page is None:
        return HttpResponseRedirect(request.path)
    questions = questions_to_show(page, response.answers, response.extra)
    if response.pk is None and link.kind == Link.Kind.PERSONAL:
        invitation_track(link=link, stage="started")
    try:
        outcome = response_page_save(
            response=response,
            page_key=page["key"],
            raw_answers=raw_answers_from_form(request.POST, questions),
            going_back="back" in request.POST,
        )
    except SurveyClosedError as error:
        return _closed(request, link, error)
    if outcome.finished:
        reply = _to_thanks(request)
        reply.delete_cookie(_resume_cookie(link), path=f"/s/{link.token}/")
        if link.one_response_per_device:
            reply.set_cookie(
                _done_cookie(link),
                "1",
                max_age=365 * 86400,
                path=f"/s/{link.token}/",
                httponly=True,
                samesite="Lax",
            )
        return reply
    if outcome.errors:
        reply = _page_render(
            request,
            link,
            outcome.response,
            outcome.page_key,
            values=outcome.values,
            errors=outcome.errors,
        )
    else:
        # The next page, by GET, so reloading is safe; the key in the URL serves browsers
        # that refuse the cookie.
        reply = HttpResponseRedirect(
            request.path
            + ("" if link.kind == Link.Kind.PERSONAL else f"?r={outcome.response.resume_key}")
        )
    if link.kind != Link.Kind.PERSONAL and outcome.response.pk:
        reply.set_cookie(
            _resume_cookie(link),
            outcome.response.resume_key,
            max_age=RESUME_COOKIE_DAYS * 86400,
            path=f"/s/{link.token}/",
            httponly=True,
            samesite="Lax",
        )
    return reply


def _page_render(
    request, link, response, page_key, *, values, errors=None, notice="", status=200
) -> HttpResponse:
    definition = response.version.definition
    language = request.LANGUAGE_CODE
    page = page_of(definition, page_key)
    page_keys = [item["key"] for item in definition["pages"]]
    position = page_keys.index(page_key)
    context = {
        "link": link,
        "title": localized(definition.get("title"), language) or link.survey.name,
        "page_key": page_key,
        "page_title": localized(page.get("title"), language),
        "questions": questions_for_display(
            questions_to_show(page, response.answers, response.extra),
            definition=definition,
            language=language,
            values=values,
            errors=errors,
            answers=response.answers,
            hidden=response.extra,
            shuffle_seed=response.resume_key,
        ),
        "form_error": (
            _("有 %(count)s 道题需要修改，请查看红色提示。") % {"count": len(errors)}
            if errors
            else notice
        ),
        "resume_key": response.resume_key,
        "form_token": _form_token(link, response.resume_key),
        "hidden_fields": response.extra if response.pk is None else {},
        "unsaved": response.pk is None,
        "can_go_back": len(response.page_path) > 1 and position > 0,
        "page_number": position + 1,
        "page_count": len(page_keys),
        "progress_percent": round(100 * position / len(page_keys)),
        "is_last_page": position == len(page_keys) - 1,
        "theme": _theme(link, definition),
    }
    if any(question["display_json"] for question in context["questions"]):
        context["logic_state"] = {"answers": response.answers, "hidden": response.extra}
    return render(request, "surveys/respond.html", context, status=status)


@xframe_options_exempt
@FRAMED_ANYWHERE
def respond_thanks(request: HttpRequest, token: str) -> HttpResponse:
    link = _link_or_404(token)
    definition = link.survey.live_version.definition if link.survey.live_version_id else {}
    language = request.LANGUAGE_CODE
    return render(
        request,
        "surveys/respond_thanks.html",
        {
            "title": localized(definition.get("title"), language) or link.survey.name,
            "thanks": localized(definition.get("thanks"), language),
            "redirect_url": thanks_redirect_url(definition),
            "theme": _theme(link, definition),
        },
    )
