"""Template context of the project's base layout: the links of its header, reversed once per
process for each tenant (the layout is drawn on every page; twenty reverses a request add up)."""

from __future__ import annotations

import functools

from django.urls import get_script_prefix, reverse

SITE_LINKS = ("home", "logout", "password_change")
TENANT_LINKS = (
    "dashboard",
    "text_analytics",
    "journey_map",
    "survey_index",
    "distribution_dashboard",
    "ticket_queue",
    "notification_centre",
    "alert_rules",
    "improvement_projects",
    "root_causes",
    "org_units",
    "group_robots",
    "sla_settings",
    "follow_up_settings",
    "api_keys",
    "members",
    "onboarding",
)


@functools.lru_cache(maxsize=4096)
def _links(prefix: str, slug: str | None) -> dict[str, str]:
    found = {name: reverse(name) for name in SITE_LINKS}
    if slug is not None:
        found.update({name: reverse(name, args=[slug]) for name in TENANT_LINKS})
    return found


def links(request) -> dict:
    membership = getattr(request, "membership", None)
    slug = membership.tenant.slug if membership is not None else None
    return {"links": _links(get_script_prefix(), slug)}
