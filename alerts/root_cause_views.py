"""The root-cause taxonomy editor: every cause with its level, parent and state; managers add,
change, deactivate and reactivate causes here, and delete the unused ones."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from alerts import root_causes
from alerts.models import RootCause, Ticket
from organizations.access import tenant_view


class RootCauseForm(forms.Form):
    name = forms.CharField(label=_lazy("名称"), max_length=200, required=False)
    level = forms.ChoiceField(label=_lazy("问题层级"), choices=RootCause.Level.choices)
    parent = forms.ModelChoiceField(label=_lazy("上级原因"), queryset=None, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = RootCause.objects.order_by("name")


def _cause(cause_id: int) -> RootCause:
    return get_object_or_404(RootCause.objects.all(), pk=cause_id)


def _save(request: HttpRequest, form: RootCauseForm, cause: RootCause | None) -> RootCause | None:
    if not form.is_valid():
        return None
    try:
        if cause is None:
            return root_causes.root_cause_create(by=request.user, **form.cleaned_data)
        return root_causes.root_cause_update(cause=cause, by=request.user, **form.cleaned_data)
    except ValidationError as error:
        form.add_error(None, error)
        return None


@tenant_view("root_cause.manage")
def root_cause_list(request: HttpRequest) -> HttpResponse:
    form = RootCauseForm(request.POST or None, prefix="new")
    if request.method == "POST" and (cause := _save(request, form, None)):
        messages.success(request, _("已添加根本原因「%(name)s」。") % {"name": cause.name})
        return redirect("root_causes", tenant_slug=request.tenant.slug)
    used = set(Ticket.objects.filter(root_cause__isnull=False).values_list("root_cause", flat=True))
    used |= set(RootCause.objects.filter(parent__isnull=False).values_list("parent", flat=True))
    causes = RootCause.objects.select_related("parent").order_by("level", "name")
    return render(
        request,
        "alerts/root_causes.html",
        {"rows": [(cause, cause.pk in used) for cause in causes], "form": form},
    )


@tenant_view("root_cause.manage")
def root_cause_edit(request: HttpRequest, cause_id: int) -> HttpResponse:
    cause = _cause(cause_id)
    initial = {"name": cause.name, "level": cause.level, "parent": cause.parent_id}
    form = RootCauseForm(request.POST or None, initial=initial)
    if request.method == "POST" and _save(request, form, cause):
        messages.success(
            request, _("已保存根本原因「%(name)s」。") % {"name": form.cleaned_data["name"].strip()}
        )
        return redirect("root_causes", tenant_slug=request.tenant.slug)
    return render(request, "alerts/root_cause_edit.html", {"cause": cause, "form": form})


@require_POST
@tenant_view("root_cause.manage")
def root_cause_set_active(request: HttpRequest, cause_id: int) -> HttpResponse:
    """Deactivate (`is_active=0`) or reactivate (`is_active=1`) a cause."""
    cause = _cause(cause_id)
    is_active = request.POST.get("is_active") == "1"
    root_causes.root_cause_set_active(cause=cause, is_active=is_active, by=request.user)
    done = _("已启用根本原因「%(name)s」。") if is_active else _("已停用根本原因「%(name)s」。")
    messages.success(request, done % {"name": cause.name})
    return redirect("root_causes", tenant_slug=request.tenant.slug)


@require_POST
@tenant_view("root_cause.manage")
def root_cause_delete(request: HttpRequest, cause_id: int) -> HttpResponse:
    cause = _cause(cause_id)
    try:
        root_causes.root_cause_delete(cause=cause, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("已删除根本原因「%(name)s」。") % {"name": cause.name})
    return redirect("root_causes", tenant_slug=request.tenant.slug)
