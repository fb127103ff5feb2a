"""Reads of surveys and responses, scoped to the current tenant and a member's org subtree."""

from __future__ import annotations

import functools
from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncWeek

from journeys.models import Touchpoint
from organizations.config_version import KeptRows, SeenVersion
from organizations.db.rows import columns, fetch_one
from organizations.models import OrgUnit, Tenant
from organizations.tenancy import current_tenant, system_context
from surveys.models import (
    LINK_TOKEN,
    Channel,
    Invitation,
    Link,
    Response,
    Survey,
    SurveyVersion,
)


def survey_list() -> QuerySet[Survey]:
    return (
        Survey.objects.select_related("touchpoint__stage__journey", "live_version")
        .annotate(
            response_count=Count("responses", filter=Q(responses__status=Response.Status.COMPLETE))
        )
        .order_by("-created_at")
    )


def survey_choices() -> list[tuple[int, str]]:
    """The surveys a filter offers: every one that can have answers (published or closed),
    by name: one query."""
    return list(
        Survey.objects.exclude(status=Survey.Status.DRAFT)
        .order_by("name", "pk")
        .values_list("pk", "name")
    )


def response_list(*, scope_path: str = "") -> QuerySet[Response]:
    """Responses a member scoped to the org subtree `scope_path` may see ("" = whole tenant)."""
    responses = Response.objects.select_related("survey", "touchpoint", "org_unit", "score")
    if scope_path:
        responses = responses.filter(org_unit__path__startswith=scope_path)
    return responses


def response_sync_list(
    *,
    updated_since: datetime | None = None,
    external_customer_id: str = "",
    scope_path: str = "",
    survey_id: int | None = None,
    touchpoint_id: int | None = None,
) -> QuerySet[Response]:
    """Complete responses for a partner's sync (GET /api/v1/responses/): changed at or after
    `updated_since`, of one customer, in the org subtree `scope_path`, of one survey or
    touchpoint; with their version, score and tickets. The caller orders and pages them."""
    responses = (
        response_list(scope_path=scope_path)
        .filter(status=Response.Status.COMPLETE)
        .select_related("version")
        .prefetch_related("tickets")
    )
    if updated_since is not None:
        responses = responses.filter(updated_at__gte=updated_since)
    if external_customer_id:
        responses = responses.filter(external_customer_id=external_customer_id)
    if survey_id is not None:
        responses = responses.filter(survey_id=survey_id)
    if touchpoint_id is not None:
        responses = responses.filter(touchpoint_id=touchpoint_id)
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


@functools.cache
def _link_by_token_sql() -> str:
    return (
        f"SELECT {columns(Link, 'l')}, {columns(Tenant, 't')}, {columns(Survey, 's')}, "  # noqa: S608 - model names, not input
        f"{columns(SurveyVersion, 'v')}, {columns(Touchpoint, 'stp')}, "
        f"{columns(Touchpoint, 'ltp')} "
        f'FROM "{Link._meta.db_table}" l '
        f'JOIN "{Tenant._meta.db_table}" t ON t.id = l.tenant_id '
        f'JOIN "{Survey._meta.db_table}" s ON s.id = l.survey_id '
        f'LEFT JOIN "{SurveyVersion._meta.db_table}" v ON v.id = s.live_version_id '
        f'LEFT JOIN "{Touchpoint._meta.db_table}" stp ON stp.id = s.touchpoint_id '
        f'LEFT JOIN "{Touchpoint._meta.db_table}" ltp ON ltp.id = l.touchpoint_id '
        "WHERE l.token = %s AND t.is_active = %s"
    )


_kept_links: KeptRows[Link] = KeptRows()
_kept_surveys: KeptRows[Survey] = KeptRows()


def link_tenant_kept(token: str) -> int | None:
    """The tenant of the link this process keeps under `token`: the configuration version a
    request through it should read before link_by_token."""
    return _kept_links.tenant_of(token)


def link_by_token(token: str, *, seen: SeenVersion | None = None) -> Link | None:
    """The link for a public token, across tenants: the token is what names the tenant. With
    what a respondent's request reads: tenant, survey, live version and the touchpoints a
    response is routed by (their org units by id), in one statement (organizations/db/rows.py).
    A shared link (a QR code, a link on a receipt) is kept by the process while its tenant's
    configuration version is `seen` (organizations.config_version); a personal link, used by
    one person, is not. Anything that cannot be a token (NUL bytes and the like in a typed
    URL) names none."""
    if not LINK_TOKEN.fullmatch(token):
        return None
    kept = _kept_links.get(token, seen)
    if kept is not None:
        return kept
    with system_context():
        found = fetch_one(
            _link_by_token_sql(),
            [token, True],
            [Link, Tenant, Survey, SurveyVersion, Touchpoint, Touchpoint],
        )
    if not found:
        return None
    link, tenant, survey, live_version, survey_touchpoint, link_touchpoint = found
    survey.live_version = live_version
    survey.touchpoint = survey_touchpoint
    link.tenant = tenant
    link.survey = survey
    link.touchpoint = link_touchpoint
    if link.kind != Link.Kind.PERSONAL:
        _kept_links.put(token, tenant.pk, seen, link)
    return link


@functools.cache
def _survey_for_submission_sql() -> str:
    return (
        f"SELECT {columns(Survey, 's')}, {columns(SurveyVersion, 'v')}, "  # noqa: S608 - model names, not input
        f"{columns(Touchpoint, 'tp')}, {columns(OrgUnit, 'ou')} "
        f'FROM "{Survey._meta.db_table}" s '
        f'LEFT JOIN "{SurveyVersion._meta.db_table}" v ON v.id = s.live_version_id '
        f'LEFT JOIN "{Touchpoint._meta.db_table}" tp ON tp.id = s.touchpoint_id '
        f'LEFT JOIN "{OrgUnit._meta.db_table}" ou ON ou.id = tp.org_unit_id '
        "WHERE s.tenant_id = %s AND s.id = %s"
    )


def survey_for_submission(survey_id: int, *, seen: SeenVersion | None = None) -> Survey | None:
    """A survey of the current tenant with what a submission reads: its live version and its
    touchpoint with the touchpoint's org unit. The API reads it for every response a partner
    sends: kept by the process while the tenant's configuration version is `seen`
    (organizations.config_version), otherwise in one statement (organizations/db/rows.py)."""
    if not 0 < survey_id < 2**63:  # no row has such an id, and a database may refuse it
        return None
    tenant_id = current_tenant().pk
    kept = _kept_surveys.get((tenant_id, survey_id), seen)
    if kept is not None:
        return kept
    found = fetch_one(
        _survey_for_submission_sql(),
        [tenant_id, survey_id],
        [Survey, SurveyVersion, Touchpoint, OrgUnit],
    )
    if not found:
        return None
    survey, live_version, touchpoint, org_unit = found
    if touchpoint is not None:
        touchpoint.org_unit = org_unit
    survey.live_version = live_version
    survey.touchpoint = touchpoint
    _kept_surveys.put((tenant_id, survey_id), tenant_id, seen, survey)
    return survey


@functools.cache
def _response_by_resume_key_sql() -> str:
    return (
        f'SELECT {columns(Response, "r")} FROM "{Response._meta.db_table}" r '  # noqa: S608 - model names, not input
        "WHERE r.tenant_id = %s AND r.link_id = %s AND r.resume_key = %s"
    )


def response_in_progress(*, link: Link, resume_key: str) -> Response | None:
    """The response a respondent started through `link` under `resume_key`, if any. Read on
    every page a respondent posts, so in one statement (organizations/db/rows.py)."""
    if not resume_key:
        return None
    found = fetch_one(
        _response_by_resume_key_sql(), [current_tenant().pk, link.pk, resume_key], [Response]
    )
    if not found:
        return None
    response = found[0]
    # Its version is nearly always the live one the link already carries.
    if response.version_id == link.survey.live_version_id:
        response.version = link.survey.live_version
    return response


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
