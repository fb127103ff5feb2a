"""Reads of alerts: tickets, scoped to the current tenant and a member's org subtree; alert
rules with their recent tickets, the values their conditions can test, and rule previews."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Prefetch, Q, QuerySet

from alerts.models import OPEN_STATUSES, AlertRule, RootCause, Ticket, TicketEvent, TicketRule
from alerts.rules import conditions_match, response_facts
from analytics import selectors as analytics_selectors
from analytics.models import NpsCategory, ResponseScore, RiskFlag, Sentiment
from journeys.models import Touchpoint
from organizations.access import PERMISSIONS
from organizations.models import Membership, OrgUnit


def ticket_rules_prefetch() -> Prefetch:
    """A ticket's matched rules, in the order they matched, as `ticket.matches.all()`."""
    return Prefetch(
        "matches", queryset=TicketRule.objects.select_related("rule").order_by("matched_at", "id")
    )


def tickets_in_scope(scope_path: str) -> QuerySet[Ticket]:
    """The current tenant's tickets in the org subtree `scope_path` ("" = the whole tenant)."""
    tickets = Ticket.objects.all()
    if scope_path:
        tickets = tickets.filter(org_unit__path__startswith=scope_path)
    return tickets


def ticket_list(
    *,
    scope_path: str = "",
    status: str = "",
    open_only: bool = False,
    escalated: bool = False,
    updated_since: datetime | None = None,
    external_customer_id: str = "",
) -> QuerySet[Ticket]:
    """Tickets in the org subtree `scope_path` ("" = whole tenant), most urgent SLA first;
    `escalated`: only those that took at least one step up their escalation chain or were
    escalated for want of a first response; for a
    partner's sync, those changed at or after `updated_since` and those of the customer the
    tenant calls `external_customer_id`."""
    tickets = (
        tickets_in_scope(scope_path)
        .select_related(
            "response__survey",
            "response__touchpoint",
            "response__score",
            "external_post",
            "org_unit",
            "assignee",
        )
        .prefetch_related(ticket_rules_prefetch())
    )
    if status:
        tickets = tickets.filter(status=status)
    elif open_only:
        tickets = tickets.filter(status__in=OPEN_STATUSES)
    if escalated:
        tickets = tickets.filter(
            Q(escalation_level__gt=0) | Q(first_response_escalated_at__isnull=False)
        )
    if updated_since is not None:
        tickets = tickets.filter(updated_at__gte=updated_since)
    if external_customer_id:
        tickets = tickets.filter(response__external_customer_id=external_customer_id)
    return tickets.order_by("sla_due_at", "number")


def tickets_page(tickets: QuerySet[Ticket], *, page: int, per_page: int) -> tuple[list, bool]:
    """One page of `tickets` in their order, and whether another follows, read in two steps:
    the page's ids alone, then those rows with what they show. In one step the planner joined
    every open ticket of a head office (50,000 at a bank) to its response and score before
    keeping the first page."""
    start = (page - 1) * per_page
    ids = list(tickets.values_list("pk", flat=True)[start : start + per_page + 1])
    return list(tickets.filter(pk__in=ids[:per_page])), len(ids) > per_page


def ticket_workers(*, scope_path: str = "") -> list[Membership]:
    """The active members whose role works tickets and whose scope meets the subtree
    `scope_path` (inside it, or above it), by name: whom the queue's bulk action offers (the
    service checks each ticket's unit against the member's scope). One query."""
    members = (
        Membership.objects.filter(deactivated_at__isnull=True, role__in=PERMISSIONS["ticket.work"])
        .select_related("user", "org_unit")
        .order_by("user__username")
    )
    return [
        member
        for member in members
        if member.scope_path.startswith(scope_path) or scope_path.startswith(member.scope_path)
    ]


def units_in_scope(scope_path: str) -> QuerySet[OrgUnit]:
    """The active org units of the subtree `scope_path` ("" = all), in tree order."""
    return OrgUnit.objects.filter(path__startswith=scope_path, is_active=True).order_by("path")


def ticket_events(ticket: Ticket) -> QuerySet[TicketEvent]:
    return ticket.events.select_related("actor_user", "actor_api_key", "to_user").order_by(
        "at", "id"
    )


def root_cause_list() -> QuerySet[RootCause]:
    """Every cause of the tenant's taxonomy, active or not (the editor lists them all)."""
    return RootCause.objects.order_by("level", "name")


def root_cause_choices(*, keep: int | None = None) -> QuerySet[RootCause]:
    """The causes a ticket may be resolved with: the active ones, and `keep` (the id of the one
    a ticket already records, so that its form still shows it after it was deactivated)."""
    return root_cause_list().filter(Q(is_active=True) | Q(pk=keep))


RULE_TICKET_DAYS = 30  # the rule list counts the tickets each rule opened in this many days


def alert_rule_list(*, scope_path: str = "", since: datetime) -> QuerySet[AlertRule]:
    """The tenant's rules, active ones first, each annotated with `recent_tickets` (opened since
    `since` in the org subtree `scope_path`) and `ticket_total` (ever, tenant-wide): one query."""
    recent = Q(tickets__created_at__gte=since)
    if scope_path:
        recent &= Q(tickets__org_unit__path__startswith=scope_path)
    return AlertRule.objects.annotate(
        recent_tickets=Count("tickets", filter=recent), ticket_total=Count("tickets")
    ).order_by("-is_active", "name", "id")


def rule_fact_choices() -> dict[str, dict[str, str]]:
    """The values each label or list fact of alert rules can take in the current tenant, as
    stored value -> label: touchpoints and org units by code, the built-in aspects and the
    tenant's, the tenant's topics. Four queries, whatever the number of rules."""
    aspects = {name: name for name in analytics_selectors.text_dictionary().aspect_finder.names}
    return {
        "nps_category": dict(NpsCategory.choices),
        "sentiment": dict(Sentiment.choices),
        "touchpoint": {
            code: f"{journey} / {name}"
            for code, name, journey in Touchpoint.objects.order_by(
                "stage__journey__name", "stage__position", "id"
            ).values_list("code", "name", "stage__journey__name")
        },
        "org_unit": dict(OrgUnit.objects.order_by("path").values_list("code", "name")),
        "risk_flag": dict(RiskFlag.choices),
        "aspect_negative": aspects,
        "aspect_positive": aspects,
        "topic": {
            name: name for name in analytics_selectors.topic_list().values_list("name", flat=True)
        },
    }


PREVIEW_DAYS = 30
PREVIEW_SCORES = 2000  # the newest scores a preview tests: keeps the editor quick
PREVIEW_EXAMPLES = 5


@dataclass(frozen=True)
class RulePreview:
    """What unsaved conditions would have matched among recent scored responses."""

    tested: int
    matched: int
    examples: list[ResponseScore]  # the newest matches with a text
    complete: bool  # False: the period had more scores than the newest PREVIEW_SCORES tested


def alert_rule_preview(*, conditions: dict, scope_path: str, since: datetime) -> RulePreview:
    """Test well-formed `conditions` on the scored responses submitted since `since` in the org
    subtree `scope_path`, exactly as scoring would (alerts.rules.response_facts)."""
    # Imported here: services reads this module for the values rules may test.
    scores = list(
        analytics_selectors.scores_in_scope(scope_path=scope_path, since=since)
        .select_related("response__touchpoint", "response__org_unit")
        .order_by("-response__submitted_at", "-pk")[: PREVIEW_SCORES + 1]
    )
    complete = len(scores) <= PREVIEW_SCORES
    scores = scores[:PREVIEW_SCORES]
    matched = [score for score in scores if conditions_match(conditions, response_facts(score))]
    return RulePreview(
        tested=len(scores),
        matched=len(matched),
        examples=[score for score in matched if score.verbatim][:PREVIEW_EXAMPLES],
        complete=complete,
    )
