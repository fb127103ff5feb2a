"""The health check: the project's view, as it checks every dependency the project runs on."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from cem.health import dependency_checks


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
