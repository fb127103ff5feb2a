"""Browser views of the platform core: tenant picker, tenant home, API keys, theme."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from organizations.access import has_permission, tenant_view
from organizations.forms import ApiKeyCreateForm, TenantThemeForm
from organizations.models import ApiKey, Membership, Role
from organizations.services import api_key_create, api_key_revoke, tenant_theme_update
from organizations.tenancy import system_context


@login_required
def tenant_picker(request: HttpRequest) -> HttpResponse:
    with system_context():  # the user's memberships in every tenant
        memberships = list(
            Membership.all_tenants.filter(
                user=request.user, tenant__is_active=True, deactivated_at__isnull=True
            )
            .select_related("tenant", "org_unit")
            .order_by("tenant__name")
        )
    if len(memberships) == 1:
        return redirect("tenant_home", tenant_slug=memberships[0].tenant.slug)
    return render(request, "organizations/tenant_picker.html", {"memberships": memberships})


@tenant_view("journey.view")
def tenant_home(request: HttpRequest) -> HttpResponse:
    slug = request.tenant.slug
    if request.tenant.settings.get("first_run") and has_permission(
        request.membership, "member.manage"
    ):
        return redirect("onboarding", tenant_slug=slug)  # a new tenant's checklist (cem/)
    if request.membership.role == Role.AGENT:
        return redirect("ticket_queue", tenant_slug=slug)
    return redirect("dashboard", tenant_slug=slug)


@never_cache  # shows a new key's secret once: no browser or proxy may keep a copy
@tenant_view("apikey.manage")
def api_key_list(request: HttpRequest) -> HttpResponse:
    form = ApiKeyCreateForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        issued = api_key_create(name=form.cleaned_data["name"], by=request.user)
        form = ApiKeyCreateForm()
    keys = ApiKey.objects.select_related("created_by").order_by("-created_at")
    return render(
        request, "organizations/api_keys.html", {"form": form, "keys": keys, "issued": issued}
    )


@require_POST
@tenant_view("apikey.manage")
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    api_key = get_object_or_404(ApiKey.objects.all(), pk=key_id)
    api_key_revoke(api_key=api_key, by=request.user)
    messages.success(request, _("已吊销 API 密钥 %(name)s。") % {"name": api_key.name})
    return redirect("api_keys", tenant_slug=request.tenant.slug)


@tenant_view("apikey.manage")
def tenant_theme(request: HttpRequest) -> HttpResponse:
    theme = request.tenant.settings.get("theme", {})
    form = TenantThemeForm(request.POST or None, initial=theme)
    if request.method == "POST" and form.is_valid():
        tenant_theme_update(tenant=request.tenant, by=request.user, **form.cleaned_data)
        messages.success(request, _("主题已保存。"))
        return redirect("tenant_theme", tenant_slug=request.tenant.slug)
    return render(request, "organizations/tenant_theme.html", {"form": form})
