"""Reads of surveys and responses, scoped to the current tenant and a member's org subtree."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from surveys.models import Link, Response, Survey


def survey_list() -> QuerySet[Survey]:
    return (
        Survey.objects.select_related("touchpoint__stage__journey", "live_version")
        .annotate(
            response_count=Count("responses", filter=Q(responses__status=Response.Status.COMPLETE))
        )
        .order_by("-created_at")
    )


def response_list(*, scope_path: str = "") -> QuerySet[Response]:
    """Responses a member scoped to the org subtree `scope_path` may see ("" = whole tenant)."""
    responses = Response.objects.select_related("survey", "touchpoint", "org_unit", "score")
    if scope_path:
        responses = responses.filter(org_unit__path__startswith=scope_path)
    return responses


def link_by_token(token: str) -> Link | None:
    """The link for a public token, across tenants: the token is what names the tenant."""
    return (
        Link.all_tenants.select_related("tenant", "survey__live_version", "touchpoint", "org_unit")
        .filter(token=token, tenant__is_active=True)
        .first()
    )
