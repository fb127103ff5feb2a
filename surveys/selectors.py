"""Reads of surveys and responses, scoped to the current tenant and a member's org subtree."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncWeek

from organizations.tenancy import system_context
from surveys.models import LINK_TOKEN, Channel, Invitation, Link, Response, Survey


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


def response_for_reading(response_id: int, *, scope_path: str = "") -> Response | None:
    """One response with all its page shows: survey version, customer, link and tickets."""
    return (
        response_list(scope_path=scope_path)
        .select_related("version", "customer", "link", "touchpoint__stage__journey")
        .prefetch_related("tickets")
        .filter(pk=response_id)
        .first()
    )


def link_by_token(token: str) -> Link | None:
    """The link for a public token, across tenants: the token is what names the tenant. With
    what a respondent's request reads: tenant, survey, live version and the touchpoints a
    response is routed by (their org units by id). Anything that cannot be a token (NUL bytes
    and the like in a typed URL) names none."""
    if not LINK_TOKEN.fullmatch(token):
        return None
    with system_context():
        found = (
            Link.all_tenants.select_related(
                "tenant", "survey__live_version", "survey__touchpoint", "touchpoint"
            )
            .filter(token=token, tenant__is_active=True)
            # Tokens are unique: no ORDER BY, which the ORM spends more on than the lookup.
            .order_by()[:1]
        )
        return next(iter(found), None)


FUNNEL = {
    "invitations": Count("id"),
    "sent": Count("id", filter=Q(sent_at__isnull=False)),
    "delivered": Count("id", filter=Q(delivered_at__isnull=False)),
    "opened": Count("id", filter=Q(opened_at__isnull=False)),
    "started": Count("id", filter=Q(started_at__isnull=False)),
    "completed": Count("id", filter=Q(completed_at__isnull=False)),
    "suppressed": Count("id", filter=Q(status=Invitation.Status.SUPPRESSED)),
    "failed": Count("id", filter=Q(status=Invitation.Status.FAILED)),
}
FUNNEL_GROUPS = {
    "survey": ("survey__name",),
    "channel": ("channel",),
    "touchpoint": ("touchpoint__name",),
    "org_unit": ("org_unit__name",),
}


def invitations_in_scope(*, scope_path: str = "", survey_id: int | None = None):
    invitations = Invitation.objects.all()
    if scope_path:
        invitations = invitations.filter(org_unit__path__startswith=scope_path)
    if survey_id:
        invitations = invitations.filter(survey_id=survey_id)
    return invitations


def invitation_funnel(invitations, *, by: str | None = None) -> list[dict]:
    """Sent → opened → started → completed, plus suppressed and failed; one query."""
    if by is None:
        return [invitations.aggregate(**FUNNEL)]
    fields = FUNNEL_GROUPS[by]
    rows = invitations.values(*fields).annotate(**FUNNEL).order_by("-invitations")
    labels = dict(Channel.choices) if by == "channel" else {}
    return [{"label": labels.get(row[fields[0]], row[fields[0]]) or "–", **row} for row in rows]


def suppressions_by_reason(invitations) -> list[dict]:
    return list(
        invitations.filter(status=Invitation.Status.SUPPRESSED)
        .values("suppressed_reason")
        .annotate(count=Count("id"))
        .order_by("-count")
    )


def response_rate_by_week(invitations) -> list[dict]:
    rows = (
        invitations.filter(sent_at__isnull=False)
        .annotate(week=TruncWeek("sent_at"))
        .values("week")
        .annotate(sent=Count("id"), completed=Count("id", filter=Q(completed_at__isnull=False)))
        .order_by("week")
    )
    return [
        {**row, "rate": round(100 * row["completed"] / row["sent"], 1) if row["sent"] else None}
        for row in rows
    ]


def recent_invitations(invitations, *, limit: int = 50):
    return invitations.select_related("customer", "survey", "touchpoint").order_by("-created_at")[
        :limit
    ]
