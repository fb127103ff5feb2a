"""Browser views for CX managers: survey list, builder, publishing, links and QR codes."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers.services import contact_policy_update
from journeys.models import Touchpoint
from organizations.access import require_permission, tenant_view
from organizations.json_input import JsonInputError, json_input_loads
from organizations.models import OrgUnit
from organizations.selectors import org_unit_choices
from surveys import builder, distribution, library, qr, selectors, services
from surveys.builder import TYPE_SETTINGS
from surveys.charts import response_rate_chart
from surveys.definition import CHOICE_TYPES, iter_questions, localized, page_of
from surveys.forms import (
    CONDITION_OPERATORS,
    ContactPolicyForm,
    LinkSettingsForm,
    QuestionAddForm,
    SurveyCreateForm,
    SurveyWindowForm,
    condition_from_post,
    form_error_text,
    options_to_text,
    people_from_text,
    question_changes_from_post,
    trigger_conditions_from_post,
)
from surveys.logic import condition_text
from surveys.models import Channel, Invitation, Link, Survey, Trigger
from surveys.rendering import answer_rows, questions_for_display, respondent_theme
from surveys.services import bilingual


def _survey(survey_id: int) -> Survey:
    return get_object_or_404(
        Survey.objects.select_related("touchpoint", "live_version"), pk=survey_id
    )


def public_link_url(request: HttpRequest, link: Link) -> str:
    return request.build_absolute_uri(reverse("respond", args=[link.token]))


@tenant_view("survey.view")
def survey_index(request: HttpRequest) -> HttpResponse:
    templates = [(key, template.name) for key, template in library.TEMPLATES.items()]
    form = SurveyCreateForm(request.POST or None, templates=templates)
    if request.method == "POST":
        require_permission(request.membership, "survey.manage")
        if form.is_valid():
            template = library.TEMPLATES.get(form.cleaned_data["template"])
            survey = services.survey_create(
                name=form.cleaned_data["name"],
                touchpoint=form.cleaned_data["touchpoint"],
                by=request.user,
                definition=template.definition(form.cleaned_data["name"]) if template else None,
            )
            return redirect("survey_builder", tenant_slug=request.tenant.slug, survey_id=survey.pk)
    return render(
        request, "surveys/survey_index.html", {"surveys": selectors.survey_list(), "form": form}
    )


def _builder_url(request: HttpRequest, survey: Survey, anchor: str = "") -> str:
    url = reverse("survey_builder", args=[request.tenant.slug, survey.pk])
    return f"{url}#{anchor}" if anchor else url


def _draft(survey: Survey):
    return survey.versions.order_by("-number").first()


@tenant_view("survey.manage")
def survey_builder(request: HttpRequest, survey_id: int) -> HttpResponse:
    survey = _survey(survey_id)
    draft = _draft(survey)
    definition = draft.definition
    pages = [page["key"] for page in definition["pages"]]
    form = QuestionAddForm(request.POST or None, pages=pages)
    if request.method == "POST" and form.is_valid():
        qtype = form.cleaned_data["qtype"]
        try:
            key = services.survey_question_add(
                survey=survey,
                qtype=qtype,
                text_zh=form.cleaned_data["text_zh"],
                text_en=form.cleaned_data["text_en"],
                options=form.option_pairs() if qtype in CHOICE_TYPES or qtype == "matrix" else None,
                required=form.cleaned_data["required"],
                page_key=form.cleaned_data["page"] or None,
                **({"rows": library.default_matrix_rows()} if qtype == "matrix" else {}),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect(_builder_url(request, survey, f"q-{key}"))
    links = [
        (link, public_link_url(request, link)) for link in survey.links.select_related("org_unit")
    ]
    return render(
        request,
        "surveys/survey_builder.html",
        {
            "survey": survey,
            "draft": draft,
            "pages": builder_pages(definition),
            "settings": builder_settings(definition),
            "has_unpublished_changes": not draft.is_frozen,
            "form": form,
            "links": links,
            "operators": CONDITION_OPERATORS,
            "formats": [("", "—"), ("cn_mobile", _("手机号码")), ("email", _("电子邮箱"))],
            "styles": [("numbers", _("数字")), ("stars", _("星级")), ("faces", _("表情"))],
        },
    )


def _texts(texts: dict | None) -> tuple[str, str]:
    texts = texts or {}
    return texts.get("zh-hans", ""), texts.get("en", "")


def builder_pages(definition: dict) -> list[dict]:
    """Pages with their questions prepared for the builder's forms."""
    earlier: list[dict] = []
    pages = []
    keys = [page["key"] for page in definition["pages"]]
    for position, page in enumerate(definition["pages"]):
        questions = []
        for question in page["questions"]:
            display = question.get("display") or {}
            item = {
                **question,
                "label": localized(question.get("text"), "zh-hans"),
                "text_zh": _texts(question.get("text"))[0],
                "text_en": _texts(question.get("text"))[1],
                "help_zh": _texts(question.get("help"))[0],
                "help_en": _texts(question.get("help"))[1],
                "options_text": options_to_text(question.get("options", [])),
                "rows_text": options_to_text(question.get("rows", [])),
                "settings": TYPE_SETTINGS[question["type"]],
                "display_simple": display if "question" in display else None,
                "display_text": condition_text(display) if display else "",
                "earlier": list(earlier),
            }
            for name in ("low_label", "high_label", "consent_text"):
                item[f"{name}_zh"], item[f"{name}_en"] = _texts(question.get(name))
            questions.append(item)
        earlier.extend(
            {"key": q["key"], "label": localized(q.get("text"), "zh-hans")}
            for q in page["questions"]
        )
        title_zh, title_en = _texts(page.get("title"))
        pages.append(
            {
                "key": page["key"],
                "title_zh": title_zh,
                "title_en": title_en,
                "questions": questions,
                "skip": [
                    {"index": index, "when": condition_text(rule["when"]), "to": rule["to"]}
                    for index, rule in enumerate(page.get("skip", []))
                ],
                "answered_so_far": list(earlier),
                "later_pages": [*keys[position + 1 :], "end"],
            }
        )
    return pages


def builder_settings(definition: dict) -> dict:
    theme = definition.get("theme", {})
    title_zh, title_en = _texts(definition.get("title"))
    thanks_zh, thanks_en = _texts(definition.get("thanks"))
    return {
        "title_zh": title_zh,
        "title_en": title_en,
        "thanks_zh": thanks_zh,
        "thanks_en": thanks_en,
        "redirect_url": definition.get("redirect_url", ""),
        "brand_color": theme.get("brand_color", ""),
        "logo_url": theme.get("logo_url", ""),
        "hidden_fields": ", ".join(definition.get("hidden_fields", [])),
    }


def _settings_changes(post) -> dict:
    thanks = {"zh-hans": post.get("thanks_zh", "").strip(), "en": post.get("thanks_en", "").strip()}
    return {
        "title": bilingual(post.get("title_zh", ""), post.get("title_en", "")),
        "thanks": {lang: text for lang, text in thanks.items() if text},
        "redirect_url": post.get("redirect_url", "").strip(),
        "theme": {
            name: post.get(name, "").strip()
            for name in ("brand_color", "logo_url")
            if post.get(name, "").strip()
        },
        "hidden_fields": [
            name.strip() for name in post.get("hidden_fields", "").split(",") if name.strip()
        ],
    }


def _skip_rules(definition: dict, page_key: str) -> list[dict]:
    return list(page_of(definition, page_key).get("skip", []))


def _builder_edit(post, current_question):
    """The builder edit a POST asks for: (edit function, anchor to return to)."""
    action, key, page_key = post.get("action", ""), post.get("key", ""), post.get("page", "")
    if action == "question_update":
        changes = question_changes_from_post(current_question(key), post)
        return (lambda d: builder.question_update(d, key=key, changes=changes)), f"q-{key}"
    if action == "question_remove":
        return (lambda d: builder.question_remove(d, key=key)), ""
    if action in ("question_up", "question_down"):
        offset = -1 if action == "question_up" else 1
        return (lambda d: builder.question_move(d, key=key, offset=offset)), f"q-{key}"
    if action == "question_duplicate":
        return (lambda d: builder.question_duplicate(d, key=key)), f"q-{key}"
    if action == "question_to_page":
        return (lambda d: builder.question_move_to_page(d, key=key, page_key=page_key)), f"q-{key}"
    if action == "page_add":
        return builder.page_add, ""
    if action in ("page_up", "page_down"):
        offset = -1 if action == "page_up" else 1
        return (
            lambda d: builder.page_move(d, page_key=page_key, offset=offset)
        ), f"page-{page_key}"
    if action == "page_remove":
        return (lambda d: builder.page_remove(d, page_key=page_key)), ""
    if action == "page_update":
        title = {"zh-hans": post.get("title_zh", ""), "en": post.get("title_en", "")}
        return (
            lambda d: builder.page_update(d, page_key=page_key, title=title, skip=None)
        ), f"page-{page_key}"
    if action == "skip_add":
        rule = {"when": condition_from_post(post, "when"), "to": post.get("to", "")}
        if rule["when"] is None:
            raise ValidationError(_("请选择跳转条件。"))
        return (
            lambda d: builder.page_update(
                d, page_key=page_key, title=None, skip=[*_skip_rules(d, page_key), rule]
            )
        ), f"page-{page_key}"
    if action == "skip_remove":
        index = int(post.get("index", -1))

        def remove_rule(d):
            rules = _skip_rules(d, page_key)
            kept = [rule for position, rule in enumerate(rules) if position != index]
            builder.page_update(d, page_key=page_key, title=None, skip=kept)

        return remove_rule, f"page-{page_key}"
    if action == "settings_update":
        changes = _settings_changes(post)
        return (lambda d: builder.settings_update(d, changes=changes)), "settings"
    raise ValidationError(_("未知操作。"))


@require_POST
@tenant_view("survey.manage")
def survey_window(request: HttpRequest, survey_id: int) -> HttpResponse:
    """When the survey takes responses, and how many at most."""
    survey = _survey(survey_id)
    form = SurveyWindowForm(request.POST)
    if form.is_valid():
        services.survey_window_update(survey=survey, **form.cleaned_data, by=request.user)
        messages.success(request, _("回收设置已保存。"))
    else:
        messages.error(request, form_error_text(form))
    return redirect(_builder_url(request, survey, "settings"))


@require_POST
@tenant_view("survey.manage")
def survey_edit(request: HttpRequest, survey_id: int) -> HttpResponse:
    """Every builder edit but adding a question: one form post, one service call."""
    survey = _survey(survey_id)
    definition = _draft(survey).definition

    def current_question(key: str) -> dict:
        return next((q for q in iter_questions(definition) if q["key"] == key), {"type": "text"})

    anchor = ""
    try:
        edit, anchor = _builder_edit(request.POST, current_question)
        services.survey_draft_edit(survey=survey, edit=edit)
        messages.success(request, _("已保存到草稿，发布后生效。"))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except ValueError:
        messages.error(request, _("请在数字栏中输入数字。"))
    return redirect(_builder_url(request, survey, anchor))


@tenant_view("survey.manage")
def survey_export(request: HttpRequest, survey_id: int) -> HttpResponse:
    survey = _survey(survey_id)
    draft = _draft(survey)
    document = {
        "format": library.EXPORT_FORMAT,
        "name": survey.name,
        "version": draft.number,
        "definition": draft.definition,
    }
    response = HttpResponse(
        json.dumps(document, ensure_ascii=False, indent=2), content_type="application/json"
    )
    filename = f"survey-{survey.pk}-v{draft.number}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
@tenant_view("survey.manage")
def survey_import(request: HttpRequest, survey_id: int) -> HttpResponse:
    survey = _survey(survey_id)
    upload = request.FILES.get("file")
    raw = upload.read(1_000_000) if upload else request.POST.get("document", "").encode()
    try:
        document = json_input_loads(raw)
        services.survey_import(survey=survey, document=document, by=request.user)
    except JsonInputError as error:
        messages.error(request, _("导入失败，文件不是有效的 JSON：%(error)s") % {"error": error})
    except ValidationError as error:
        messages.error(request, _("导入失败：%(error)s") % {"error": " ".join(error.messages)})
    else:
        messages.success(request, _("已导入，发布后生效。"))
    return redirect(_builder_url(request, survey))


@tenant_view("survey.manage")
def survey_preview(request: HttpRequest, survey_id: int) -> HttpResponse:
    """The draft as a respondent sees it, page by page; nothing is saved."""
    survey = _survey(survey_id)
    definition = _draft(survey).definition
    keys = [page["key"] for page in definition["pages"]]
    page_key = request.GET.get("page") if request.GET.get("page") in keys else keys[0]
    language = (
        request.GET.get("lang") if request.GET.get("lang") in ("zh-hans", "en") else "zh-hans"
    )
    position = keys.index(page_key)
    page = page_of(definition, page_key)
    return render(
        request,
        "surveys/respond.html",
        {
            "preview": True,
            "title": localized(definition.get("title"), language) or survey.name,
            "page_key": page_key,
            "page_title": localized(page.get("title"), language),
            "questions": questions_for_display(
                page["questions"], definition=definition, language=language
            ),
            "page_number": position + 1,
            "page_count": len(keys),
            "progress_percent": round(100 * position / len(keys)),
            "previous_page": keys[position - 1] if position else "",
            "next_page": keys[position + 1] if position + 1 < len(keys) else "",
            "language": language,
            "theme": respondent_theme(request.tenant.settings, definition),
        },
    )


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


def _link(survey_id: int, link_id: int) -> Link:
    return get_object_or_404(
        Link.objects.select_related("org_unit"), pk=link_id, survey_id=survey_id
    )


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@tenant_view("survey.view")
def link_qr_png(request: HttpRequest, survey_id: int, link_id: int) -> HttpResponse:
    link = _link(survey_id, link_id)
    return _download(
        qr.qr_png(public_link_url(request, link)),
        "image/png",
        f"survey-{survey_id}-link-{link_id}.png",
    )


@tenant_view("survey.view")
def link_qr_svg(request: HttpRequest, survey_id: int, link_id: int) -> HttpResponse:
    link = _link(survey_id, link_id)
    return _download(
        qr.qr_svg(public_link_url(request, link)),
        "image/svg+xml",
        f"survey-{survey_id}-link-{link_id}.svg",
    )


@tenant_view("survey.view")
def survey_qr_zip(request: HttpRequest, survey_id: int) -> HttpResponse:
    """Every link's QR code (PNG and SVG), named by branch: posters for all branches at once."""
    survey = _survey(survey_id)
    named = [
        (
            f"{link.pk}-{(link.org_unit.code if link.org_unit else link.name or link.kind)}",
            public_link_url(request, link),
        )
        for link in survey.links.select_related("org_unit").order_by("pk")
    ]
    response = _download(qr.qr_zip(named), "application/zip", f"survey-{survey_id}-qr.zip")
    response["Content-Disposition"] = response["Content-Disposition"].replace(
        "inline", "attachment"
    )
    return response


def _distribution_post(request: HttpRequest, survey: Survey) -> None:
    action = request.POST.get("action", "links")
    if action == "links":
        parent = OrgUnit.objects.filter(pk=request.POST.get("parent") or None).first()
        created = services.links_for_org_units(survey=survey, parent=parent, by=request.user)
        messages.success(request, _("已生成 %(count)s 个网点链接。") % {"count": len(created)})
    elif action == "trigger_add":
        try:
            distribution.trigger_create(
                survey=survey,
                event_type=request.POST.get("event_type", ""),
                touchpoint=Touchpoint.objects.filter(
                    pk=request.POST.get("touchpoint") or None
                ).first(),
                channel=request.POST.get("channel", ""),
                delay_minutes=int(request.POST.get("delay_minutes") or 0),
                conditions=trigger_conditions_from_post(request.POST),
                by=request.user,
            )
        except ValueError:
            messages.error(request, _("延迟须为分钟数。"))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("已添加触发器。"))
    elif action == "invite":
        try:
            people = people_from_text(request.POST.get("people", ""))
            invitations = distribution.invitations_create(
                survey=survey,
                people=people,
                channel=request.POST.get("channel", ""),
                by=request.user,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            stopped = sum(1 for invitation in invitations if invitation.status == "suppressed")
            messages.success(
                request,
                _("已创建 %(count)s 份邀请，其中 %(stopped)s 份被触达规则拦截。")
                % {"count": len(invitations), "stopped": stopped},
            )
    elif action == "trigger_off":
        trigger = get_object_or_404(
            Trigger.objects.all(), pk=request.POST.get("trigger"), survey=survey
        )
        distribution.trigger_deactivate(trigger=trigger, by=request.user)


@tenant_view("survey.manage")
def survey_distribution(request: HttpRequest, survey_id: int) -> HttpResponse:
    """Links by branch with QR codes and embed snippet, touchpoint triggers, invitations."""
    survey = _survey(survey_id)
    if request.method == "POST":
        _distribution_post(request, survey)
        return redirect("survey_distribution", tenant_slug=request.tenant.slug, survey_id=survey.pk)
    links = [
        {"link": link, "url": public_link_url(request, link)}
        for link in survey.links.exclude(kind=Link.Kind.PERSONAL)
        .select_related("org_unit")
        .order_by("pk")
    ]
    invitations = selectors.invitations_in_scope(survey_id=survey.pk)
    return render(
        request,
        "surveys/survey_distribution.html",
        {
            "survey": survey,
            "links": links,
            "org_units": org_unit_choices().exclude(kind=OrgUnit.Kind.BRANCH),
            "widget_url": request.build_absolute_uri(static("cem-widget.js")),
            "triggers": [
                {"trigger": trigger, "conditions": distribution.trigger_conditions_text(trigger)}
                for trigger in survey.triggers.select_related("touchpoint").order_by(
                    "-is_active", "pk"
                )
            ],
            "touchpoints": Touchpoint.objects.select_related("stage__journey").order_by("pk"),
            "channels": Channel.choices,
            "operators": CONDITION_OPERATORS[:8],
            "funnel": selectors.invitation_funnel(invitations)[0],
            "invitations": selectors.recent_invitations(invitations),
        },
    )


@tenant_view("survey.view")
def distribution_dashboard(request: HttpRequest) -> HttpResponse:
    """Invitations sent, opened, started, completed and suppressed, by survey, channel,
    touchpoint and org unit; the response rate by week; the tenant's contact policy."""
    policy = distribution.contact_policy()
    form = ContactPolicyForm(request.POST or None, instance=policy)
    if request.method == "POST":
        require_permission(request.membership, "survey.manage")
        if form.is_valid():
            contact_policy_update(policy=policy, changes=form.cleaned_data, by=request.user)
            messages.success(request, _("触达规则已保存。"))
            return redirect("distribution_dashboard", tenant_slug=request.tenant.slug)
    invitations = selectors.invitations_in_scope(scope_path=request.membership.scope_path)
    weeks = selectors.response_rate_by_week(invitations)
    return render(
        request,
        "surveys/distribution_dashboard.html",
        {
            "funnel": selectors.invitation_funnel(invitations)[0],
            "groups": [
                (label, selectors.invitation_funnel(invitations, by=key))
                for key, label in (
                    ("survey", _("按问卷")),
                    ("channel", _("按渠道")),
                    ("touchpoint", _("按触点")),
                    ("org_unit", _("按组织")),
                )
            ],
            "suppressions": [
                {
                    "reason": Invitation.Suppression(row["suppressed_reason"]).label,
                    "count": row["count"],
                }
                for row in selectors.suppressions_by_reason(invitations)
                if row["suppressed_reason"]
            ],
            "weeks": weeks,
            "rate_chart": response_rate_chart(weeks) if weeks else "",
            "form": form,
        },
    )


@require_POST
@tenant_view("survey.manage")
def link_update(request: HttpRequest, survey_id: int, link_id: int) -> HttpResponse:
    link = _link(survey_id, link_id)
    form = LinkSettingsForm(request.POST)
    if form.is_valid():
        services.link_update(link=link, **form.cleaned_data, by=request.user)
        messages.success(request, _("链接设置已保存。"))
    else:
        messages.error(request, form_error_text(form))
    return redirect("survey_distribution", tenant_slug=request.tenant.slug, survey_id=survey_id)


@tenant_view("dashboard.view")
def response_detail(request: HttpRequest, response_id: int) -> HttpResponse:
    """One response as the customer gave it, with its scores, what text analytics read in it
    and its tickets: where every verbatim on the dashboards leads."""
    response = selectors.response_for_reading(response_id, scope_path=request.membership.scope_path)
    if response is None:
        raise Http404
    return render(
        request,
        "surveys/response_detail.html",
        {
            "response": response,
            "score": getattr(response, "score", None),
            "answers": answer_rows(response, request.LANGUAGE_CODE),
        },
    )
