"""Pages of improvement projects: the list, opening one by hand, one project with its actions
and links, and its review (复盘)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from improvements import selectors, services
from improvements.charts import before_after_chart
from improvements.forms import (
    ActionForm,
    ProjectCreateForm,
    ProjectLinksForm,
    ProjectUpdateForm,
    RecurringSettingsForm,
)
from improvements.models import ImprovementProject, ProjectAction, ProjectStatus
from improvements.services import owner_rule_text, recurring_settings
from organizations.access import require_permission, tenant_view


def _project(project_id: int) -> ImprovementProject:
    return get_object_or_404(
        ImprovementProject.objects.select_related("root_cause", "owner"), pk=project_id
    )


@tenant_view("dashboard.view")
def project_list(request: HttpRequest) -> HttpResponse:
    """The projects, and (managers) the recurring-cause rule posted from the same page."""
    form = RecurringSettingsForm(request.POST or None, initial=recurring_settings(request.tenant))
    if request.method == "POST":
        require_permission(request.membership, "improvement.manage")
        if form.is_valid():
            try:
                services.recurring_settings_update(
                    tenant=request.tenant, by=request.user, **form.cleaned_data
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("已保存复发原因的提议规则。"))
                return redirect("improvement_projects", tenant_slug=request.tenant.slug)
    status = request.GET.get("status", "")
    if status not in ProjectStatus.values:
        status = ""
    cause = request.GET.get("root_cause", "")
    cause_id = int(cause) if cause.isdigit() else None
    return render(
        request,
        "improvements/project_list.html",
        {
            "projects": selectors.project_list(status=status, root_cause_id=cause_id)[:200],
            "status": status,
            "statuses": ProjectStatus.choices,
            "counts": selectors.project_status_counts(),
            "recurring": recurring_settings(request.tenant),
            "recurring_form": form,
        },
    )


@tenant_view("improvement.manage")
def project_new(request: HttpRequest) -> HttpResponse:
    form = ProjectCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.project_create(by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("已创建改进项目「%(title)s」。") % {"title": project.title})
            return redirect(
                "improvement_project", tenant_slug=request.tenant.slug, project_id=project.pk
            )
    return render(request, "improvements/project_new.html", {"form": form})


def _project_post(request: HttpRequest, project: ImprovementProject) -> tuple[bool, dict]:
    """Apply the posted action (update, links, add_action, action_done); (saved, forms)."""
    action = request.POST.get("action")
    update_form = ProjectUpdateForm(request.POST if action == "update" else None)
    action_form = ActionForm(request.POST if action == "add_action" else None)
    links_form = ProjectLinksForm(request.POST if action == "links" else None)
    forms = {"update_form": update_form, "action_form": action_form, "links_form": links_form}
    try:
        if action == "action_done":
            done = get_object_or_404(
                ProjectAction.objects.all(), pk=request.POST.get("action_id"), project=project
            )
            services.action_done(action=done, by=request.user)
            return True, forms
        require_permission(request.membership, "improvement.manage")
        if action == "update" and update_form.is_valid():
            services.project_update(project=project, by=request.user, **update_form.cleaned_data)
            return True, forms
        if action == "links" and links_form.is_valid():
            services.project_links_set(project=project, by=request.user, **links_form.cleaned_data)
            return True, forms
        if action == "add_action" and action_form.is_valid():
            data = action_form.cleaned_data
            services.action_add(
                project=project,
                description=data["description"],
                owner=data["action_owner"],
                due_date=data["due_date"],
                by=request.user,
            )
            return True, forms
    except ValidationError as error:
        {"update": update_form, "links": links_form}.get(action, action_form).add_error(None, error)
    return False, forms


@tenant_view("dashboard.view")
def project_detail(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _project(project_id)
    if request.method == "POST":
        saved, forms = _project_post(request, project)
        if saved:
            messages.success(request, _("已保存。"))
            return redirect(
                "improvement_project", tenant_slug=request.tenant.slug, project_id=project.pk
            )
    else:
        forms = {"update_form": None, "action_form": ActionForm(), "links_form": None}
    if forms["links_form"] is None or not forms["links_form"].is_bound:
        forms["links_form"] = ProjectLinksForm(
            initial={
                "touchpoints": list(project.touchpoints.values_list("pk", flat=True)),
                "org_units": list(project.org_units.values_list("pk", flat=True)),
                "topics": list(project.topics.values_list("pk", flat=True)),
            }
        )
    if forms["update_form"] is None or not forms["update_form"].is_bound:
        forms["update_form"] = ProjectUpdateForm(
            initial={
                "owner": project.owner_id,
                "status": project.status,
                "fix_date": project.fix_date,
                "review_days_before": project.review_days_before,
                "review_days_after": project.review_days_after,
            }
        )
    return render(
        request,
        "improvements/project_detail.html",
        {
            "project": project,
            "actions": selectors.project_actions(project),
            "tickets": selectors.project_tickets(project, scope_path=request.membership.scope_path),
            "touchpoints": project.touchpoints.all(),
            "org_units": project.org_units.all(),
            "topics": project.topics.all(),
            "owner_rule": owner_rule_text(project.level),
            **forms,
        },
    )


@tenant_view("dashboard.view")
def project_review(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _project(project_id)
    review = selectors.project_review(project, scope_path=request.membership.scope_path)
    charts = {}
    if review.nps:
        charts["nps"] = before_after_chart(review.nps, axis_title="NPS")
    if review.cause_share:
        charts["cause_share"] = before_after_chart(review.cause_share, axis_title=_("占比"))
    return render(
        request,
        "improvements/project_review.html",
        {"project": project, "review": review, "charts": charts},
    )
