"""Browser views of the platform core: tenant picker, tenant home, API keys, health."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from cem.access import tenant_view
from cem.forms import ApiKeyCreateForm, TenantThemeForm
from cem.health import dependency_checks
from cem.models import ApiKey, Membership, Role
from cem.services import api_key_create, api_key_revoke, tenant_theme_update
from cem.tenancy import system_context


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness with each dependency. Only a database outage is fatal (503): without Redis
    or the broker, answers are still stored and scored later, so the state is "degraded"."""
    checks = dependency_checks()
    if checks["database"] != "ok":
        state, status = "down", 503
    elif all(check in {"ok", "not used"} for check in checks.values()):
        state, status = "ok", 200
    else:
        state, status = "degraded", 200
    return JsonResponse({"status": state, "checks": checks}, status=status)


@login_required
def tenant_picker(request: HttpRequest) -> HttpResponse:
    with system_context():  # the user's memberships in every tenant
        memberships = list(
            Membership.all_tenants.filter(user=request.user, tenant__is_active=True)
            .select_related("tenant", "org_unit")
            .order_by("tenant__name")
        )
    if len(memberships) == 1:
        return redirect("tenant_home", tenant_slug=memberships[0].tenant.slug)
    return render(request, "cem/tenant_picker.html", {"memberships": memberships})


@tenant_view("journey.view")
def tenant_home(request: HttpRequest) -> HttpResponse:
    slug = request.tenant.slug
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
    return render(request, "cem/api_keys.html", {"form": form, "keys": keys, "issued": issued})


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
    return render(request, "cem/tenant_theme.html", {"form": form})
