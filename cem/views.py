"""The project's own views: the health check (it checks every dependency the project runs on)
and the first-run checklist (it reads every app)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from cem.health import dependency_checks
from cem.onboarding import checklist
from organizations.access import tenant_view
from organizations.members import tenant_first_run_finish


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


@tenant_view("member.manage")
def onboarding(request: HttpRequest) -> HttpResponse:
    """The first-run checklist: what a new tenant has set up, with a link to each step."""
    if request.method == "POST":
        tenant_first_run_finish(tenant=request.tenant, by=request.user)
        return redirect("dashboard", tenant_slug=request.tenant.slug)
    steps = checklist(request.tenant)
    return render(
        request,
        "onboarding/checklist.html",
        {
            "steps": steps,
            "done_count": sum(state.done for state in steps),
            "first_run": bool(request.tenant.settings.get("first_run")),
        },
    )
