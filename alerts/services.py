"""Writes of alerts: rules and their changes, opening a response's one ticket (or joining it),
working tickets through their states, escalation."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from alerts import selectors
from alerts.escalation import (
    ESCALATION,
    FIRST_RESPONSE_STEP,
    EscalationStep,
    Reached,
    chain_people,
    escalation_chain,
    escalation_chain_check,
    step_due_at,
    unit_ancestor_ids,
)
from alerts.history import ticket_event_add as _event
from alerts.models import (
    OPEN_STATUSES,
    PRIORITY_RANK,
    AlertRule,
    Priority,
    RootCause,
    Ticket,
    TicketEvent,
    TicketRule,
    TicketStatus,
)
from alerts.recovery import follow_up_problem, follow_up_schedule
from alerts.rules import (
    DEFAULT_CONDITIONS,
    conditions_match,
    conditions_problems,
    conditions_validate,
    external_post_facts,
    response_facts,
)
from alerts.signals import ticket_events_created_on_commit
from alerts.sla import (
    NEAR_BREACH_RANGE,
    SLA,
    TARGET_MINUTES_MAX,
    due_times,
    local_text,
    sla_pause,
    sla_pause_note,
    sla_policy,
    sla_reopen_note,
    sla_resume,
    sla_resume_note,
    working_span,
)
from analytics.metric_rollups import MetricKey, Totals
from analytics.models import ExternalPost, Metric, ResponseScore, RiskFlag
from analytics.services import metric_ticket_count
from customers.models import Customer
from organizations.access import PERMISSIONS, actor_require_permission, actor_scope_path
from organizations.business_hours import tenant_calendar, working_time_add
from organizations.conditions import ConditionError
from organizations.db.rows import update_many
from organizations.json_input import text_without_unstorable
from organizations.models import Membership, OrgUnit, Role, Tenant, TicketAssignment
from organizations.org_units import SENIOR_QUEUE
from organizations.services import Actor, audit_record, tenant_calendar_update
from organizations.tenancy import current_tenant, each_active_tenant
from surveys.models import Response

logger = logging.getLogger(__name__)

DEFAULT_ROOT_CAUSES = [
    ("员工服务态度", RootCause.Level.INDIVIDUAL),
    ("业务办理差错", RootCause.Level.INDIVIDUAL),
    ("排队等候时间长", RootCause.Level.PROCESS),
    ("流程繁琐/材料多", RootCause.Level.PROCESS),
    ("系统/App 故障", RootCause.Level.PROCESS),
    ("收费与定价", RootCause.Level.STRATEGIC),
    ("产品设计不满足需求", RootCause.Level.STRATEGIC),
    ("客户误解/无需改进", RootCause.Level.INDIVIDUAL),
]


def alert_defaults_install() -> None:
    """The default rule (NPS 0-6, CSAT <= 2, negative sentiment) and a root-cause list."""
    AlertRule.objects.create(
        name=_("默认预警：贬损者、低满意度或负面评价"),
        conditions=DEFAULT_CONDITIONS,
        priority=Priority.HIGH,
        sla_hours=24,
    )
    RootCause.objects.bulk_create(
        RootCause(tenant=current_tenant(), name=name, level=level)
        for name, level in DEFAULT_ROOT_CAUSES
    )


SLA_HOURS_MAX = 24 * 30


def _rule_state(rule: AlertRule) -> dict:
    """What the audit log keeps of a rule before and after a change."""
    return {
        "name": rule.name,
        "conditions": rule.conditions,
        "priority": rule.priority,
        "sla_hours": rule.sla_hours,
        "is_active": rule.is_active,
    }


def _rule_check(rule: AlertRule) -> None:
    """Refuse a rule whose conditions are malformed or test values their facts never take in
    this tenant (an NPS of 11, a risk flag or topic that does not exist), or whose fields do
    not fit."""
    try:
        conditions_validate(rule.conditions)
    except ConditionError as error:
        raise ValidationError(str(error)) from error
    problems = conditions_problems(rule.conditions, selectors.rule_fact_choices())
    if problems:
        raise ValidationError(problems)
    if not 1 <= rule.sla_hours <= SLA_HOURS_MAX:
        raise ValidationError(
            _("SLA 时限应为 1 到 %(max)s 小时。") % {"max": SLA_HOURS_MAX}, code="sla_hours"
        )
    rule.full_clean()


@transaction.atomic
def alert_rule_create(
    *, name: str, conditions: dict, priority: str, sla_hours: int, by: Actor
) -> AlertRule:
    """A new active rule: it tests the responses scored from now on."""
    actor_require_permission(by, "alert_rule.manage")
    rule = AlertRule(
        name=name.strip(), conditions=conditions, priority=priority, sla_hours=sla_hours
    )
    rule.tenant = current_tenant()
    _rule_check(rule)
    rule.save()
    audit_record(by=by, action="alert_rule.create", target=rule, after=_rule_state(rule))
    return rule


@transaction.atomic
def alert_rule_update(
    *, rule: AlertRule, name: str, conditions: dict, priority: str, sla_hours: int, by: Actor
) -> AlertRule:
    """Change a rule. The tickets it already opened keep their priority and SLA."""
    actor_require_permission(by, "alert_rule.manage")
    rule = AlertRule.objects.select_for_update().get(pk=rule.pk)
    before = _rule_state(rule)
    rule.name = name.strip()
    rule.conditions = conditions
    rule.priority = priority
    rule.sla_hours = sla_hours
    _rule_check(rule)
    rule.save()
    audit_record(
        by=by, action="alert_rule.update", target=rule, before=before, after=_rule_state(rule)
    )
    return rule


@transaction.atomic
def alert_rule_set_active(*, rule: AlertRule, is_active: bool, by: Actor) -> AlertRule:
    """Switch a rule on or off; asking for the state it is in changes (and logs) nothing."""
    actor_require_permission(by, "alert_rule.manage")
    rule = AlertRule.objects.select_for_update().get(pk=rule.pk)
    if rule.is_active != is_active:
        rule.is_active = is_active
        rule.save(update_fields=["is_active"])
        audit_record(
            by=by,
            action="alert_rule.activate" if is_active else "alert_rule.deactivate",
            target=rule,
            before={"is_active": not is_active},
            after={"is_active": is_active},
        )
    return rule


@transaction.atomic
def alert_rule_delete(*, rule: AlertRule, by: Actor) -> None:
    """Delete a rule that never opened a ticket. A rule with tickets stays, so that they keep
    the rule that raised them: it can be deactivated instead."""
    actor_require_permission(by, "alert_rule.manage")
    rule = AlertRule.objects.select_for_update().get(pk=rule.pk)
    if rule.tickets.exists():
        raise ValidationError(
            _("规则「%(name)s」已开出工单，为保留工单记录不能删除；如不再需要，请停用。")
            % {"name": rule.name},
            code="has_tickets",
        )
    audit_record(by=by, action="alert_rule.delete", target=rule, before=_rule_state(rule))
    rule.delete()


@transaction.atomic
def sla_settings_update(*, tenant: Tenant, calendar: dict, targets: dict, by: Actor) -> Tenant:
    """The tenant's working calendar (see organizations.services.tenant_calendar_update) and its
    SLA targets: `first_response` and `resolution`, working minutes by priority,
    `near_breach_percent`, and `escalation`, the chain (alerts.escalation: a chain that loops or
    whose thresholds do not rise is refused). Anything out of range is refused and nothing
    changes. Tickets already open keep their due times; a new chain applies to them from their
    next step."""
    actor_require_permission(by, "sla.manage")
    document = _sla_document_check(targets)
    tenant = tenant_calendar_update(tenant=tenant, by=by, **calendar)
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = tenant.settings.get(SLA)
    tenant.settings = {**tenant.settings, SLA: document}
    tenant.save(update_fields=["settings"])
    if (before or {}).get(ESCALATION) != document.get(ESCALATION):
        # The sweep reckons every running ticket's next step on the new chain.
        Ticket.objects.filter(status__in=OPEN_STATUSES, sla_paused_at__isnull=True).update(
            escalation_check_at=timezone.now()
        )
    audit_record(by=by, action="tenant.sla", target=tenant, before=before, after=document)
    return tenant


def _sla_document_check(targets: dict) -> dict:
    percent = targets.get("near_breach_percent")
    low, high = NEAR_BREACH_RANGE
    if not isinstance(percent, int) or isinstance(percent, bool) or not low <= percent <= high:
        raise ValidationError(
            _("即将超时提醒应为 %(low)d%% 到 %(high)d%%。") % {"low": low, "high": high}
        )
    document: dict = {"near_breach_percent": percent}
    for kind in ("first_response", "resolution"):
        given = targets.get(kind) or {}
        document[kind] = {}
        for priority in Priority.values:
            minutes = given.get(priority)
            if (
                not isinstance(minutes, int)
                or isinstance(minutes, bool)
                or not 1 <= minutes <= TARGET_MINUTES_MAX
            ):
                raise ValidationError(
                    _("「%(priority)s」的 SLA 时限应为 1 分钟到 %(hours)d 小时。")
                    % {"priority": Priority(priority).label, "hours": TARGET_MINUTES_MAX // 60}
                )
            document[kind][priority] = minutes
    for priority in Priority.values:
        if document["first_response"][priority] > document["resolution"][priority]:
            raise ValidationError(
                _("「%(priority)s」的首次响应时限不能长于解决时限。")
                % {"priority": Priority(priority).label}
            )
    if ESCALATION in targets:
        document[ESCALATION] = escalation_chain_check(targets[ESCALATION])
    return document


# Risk signals that reach a person whatever the rules say: urgent, on a short SLA. Churn is
# left to the rules: a threat to leave is common, and a tenant decides how to treat it.
RISK_ESCALATING_FLAGS = (RiskFlag.REGULATOR, RiskFlag.MEDIA, RiskFlag.LEGAL)
RISK_SLA_HOURS = 4  # default; a tenant's settings["risk_sla_hours"] replaces it


def risk_sla_hours(tenant: Tenant) -> int:
    """The SLA of a ticket raised by a risk signal in this tenant (docs/tickets.md)."""
    hours = tenant.settings.get("risk_sla_hours")
    if isinstance(hours, int) and not isinstance(hours, bool) and 1 <= hours <= SLA_HOURS_MAX:
        return hours
    return RISK_SLA_HOURS


@dataclass(frozen=True)
class _Reasons:
    """Why a response needs a ticket: the rules it matches and its escalating risk flags."""

    rules: list[AlertRule]
    risks: list[str]

    def terms(self, *, risk_hours: int) -> tuple[str, int]:
        """The highest priority and the shortest SLA (hours) among the reasons."""
        terms = [(rule.priority, rule.sla_hours) for rule in self.rules]
        terms += [(Priority.URGENT, risk_hours)] if self.risks else []
        priority = max((p for p, _hours in terms), key=PRIORITY_RANK.__getitem__)
        return priority, min(hours for _p, hours in terms)

    def describe(self) -> str:
        parts = []
        if self.rules:
            names = "、".join(f"「{rule.name}」" for rule in self.rules)
            parts.append(_("命中规则：%(names)s") % {"names": names})
        if self.risks:
            labels = "、".join(str(RiskFlag(flag).label) for flag in self.risks)
            parts.append(_("风险信号：%(labels)s") % {"labels": labels})
        return "；".join(parts)


def _reasons_for(score: ResponseScore, rules: list[AlertRule]) -> _Reasons:
    return _reasons_of(response_facts(score), rules)


def _reasons_of(facts: dict, rules: list[AlertRule]) -> _Reasons:
    return _Reasons(
        rules=[rule for rule in rules if conditions_match(rule.conditions, facts)],
        risks=[flag for flag in RISK_ESCALATING_FLAGS if flag in facts["risk_flag"]],
    )


@transaction.atomic
def ticket_open_for_score(*, score: ResponseScore) -> Ticket | None:
    """Open the response's one ticket, or join it (tickets_open_for_scores for one score), and
    count an opened ticket in the metric rollups. Returns the ticket, if the response has one
    now."""
    opened = tickets_open_for_scores(scores=[score])
    for ticket in opened:
        metric_ticket_count(response=ticket.response)
    if opened:
        return opened[0]
    return Ticket.objects.filter(response_id=score.response_id).first()


@transaction.atomic
def tickets_open_for_scores(*, scores: Sequence[ResponseScore]) -> list[Ticket]:
    """Open each response's one ticket, or join it, for every active rule the scored response
    matches and for its escalating risk flags (a risk flag alone opens one); the current
    tenant's scores of one scoring batch, in a constant number of queries. Returns the tickets
    opened (the caller counts them in the metric rollups).

    A ticket takes the highest priority and the shortest SLA of its reasons; a rule that
    matches later (a rescore, a new rule) is added to the ticket with an event, and may raise
    its priority or bring its due time forward, never lower or delay them. Safe to run twice
    and from two workers at once: tickets are opened under the tenant's row lock, after
    looking again for the ones another worker opened while we waited on it; the unique
    (tenant, response) constraint backs that up."""
    rules = list(AlertRule.objects.filter(is_active=True).order_by("id"))
    reasons: dict[int, tuple[Response, _Reasons]] = {}
    for score in scores:
        found = _reasons_for(score, rules)
        if found.rules or found.risks:
            reasons[score.response_id] = (score.response, found)
    return _tickets_open(reasons, subject="response")


@transaction.atomic
def tickets_open_for_external_posts(*, posts: Sequence[ExternalPost]) -> list[Ticket]:
    """Open or join each analysed external post's one ticket, by the same rules and risk flags
    and in the same way as tickets_open_for_scores (the unique (tenant, external_post)
    constraint backs it up). A post has no org unit: its ticket goes to the tenant's top unit,
    or for a risk to the senior queue. Its tickets count in no metric rollup: they belong to
    no touchpoint."""
    rules = list(AlertRule.objects.filter(is_active=True).order_by("id"))
    reasons: dict[int, tuple[ExternalPost, _Reasons]] = {}
    for post in posts:
        found = _reasons_of(external_post_facts(post), rules)
        if found.rules or found.risks:
            reasons[post.pk] = (post, found)
    return _tickets_open(reasons, subject="external_post")


# What a ticket is about: a survey response, or an external post.
_Subject = Response | ExternalPost


def _tickets_open(reasons: dict[int, tuple[_Subject, _Reasons]], *, subject: str) -> list[Ticket]:
    """Open or join the tickets of `reasons` (by the id of their response or external post,
    as `subject` names the ticket's field); the tickets opened."""
    if not reasons:
        return []
    now = timezone.now()
    tickets = _tickets_locked(list(reasons), subject=subject)
    opened: list[Ticket] = []
    if len(tickets) < len(reasons):
        # Lock the tenant row so per-tenant ticket numbers are handed out one batch at a time;
        # FOR NO KEY UPDATE, which leaves alone the inserts whose foreign key points at it.
        tenant = Tenant.objects.select_for_update(no_key=True).get(pk=current_tenant().pk)
        tickets.update(
            _tickets_locked([pk for pk in reasons if pk not in tickets], subject=subject)
        )
        opened = _tickets_create(
            [reasons[pk] for pk in reasons if pk not in tickets],
            tenant=tenant,
            now=now,
            subject=subject,
        )
    _tickets_join(
        [(ticket, reasons[subject_id][1]) for subject_id, ticket in tickets.items()],
        tenant=current_tenant(),
        now=now,
    )
    return opened


def default_queue_unit_id() -> int | None:
    """Where a ticket goes when its response names no org unit (neither its link nor its
    touchpoint has one): the tenant's top unit, so that it is never nobody's ticket."""
    return (
        OrgUnit.objects.filter(parent__isnull=True, is_active=True)
        .order_by("path")
        .values_list("pk", flat=True)
        .first()
    )


def _senior_queue_id(tenant: Tenant) -> int | None:
    """The tenant's senior queue (organizations.org_units.senior_queue_set), if it is set and
    still an active unit."""
    unit_id = tenant.settings.get(SENIOR_QUEUE)
    if not isinstance(unit_id, int) or isinstance(unit_id, bool):
        return None
    return OrgUnit.objects.filter(pk=unit_id, is_active=True).values_list("pk", flat=True).first()


VIP_TAG = "vip"  # a customer tagged so (any case) is a VIP


def _customer_id(subject: _Subject) -> int | None:
    return subject.customer_id if isinstance(subject, Response) else None


def _unit_id(subject: _Subject) -> int | None:
    return subject.org_unit_id if isinstance(subject, Response) else None


def _vip_customer_ids(subjects: list[_Subject]) -> set[int]:
    ids = {_customer_id(subject) for subject in subjects} - {None}
    if not ids:
        return set()
    return {
        pk
        for pk, tags in Customer.objects.filter(pk__in=ids).values_list("pk", "tags")
        if any(str(tag).strip().lower() == VIP_TAG for tag in tags or ())
    }


def _tickets_locked(subject_ids: list[int], *, subject: str = "response") -> dict[int, Ticket]:
    """The tickets of these responses (or external posts), by their id, locked in a stable
    order."""
    found = Ticket.objects.select_for_update().filter(**{f"{subject}_id__in": subject_ids})
    return {getattr(ticket, f"{subject}_id"): ticket for ticket in found.order_by("pk")}


def _tickets_create(
    waiting: list[tuple[_Subject, _Reasons]], *, tenant: Tenant, now, subject: str = "response"
) -> list[Ticket]:
    """New tickets for responses (or external posts) that have none, numbered after the
    tenant's last; the caller holds the tenant's row lock."""
    if not waiting:
        return []
    top = Ticket.objects.aggregate(top=Max("number"))["top"] or 0
    risk_hours = risk_sla_hours(tenant)
    calendar, policy = tenant_calendar(tenant), sla_policy(tenant)
    queue_id = None
    if any(_unit_id(about) is None for about, _reasons in waiting):
        queue_id = default_queue_unit_id()
    senior = _senior_queue_id(tenant)
    vip = _vip_customer_ids([about for about, _reasons in waiting]) if senior else set()
    tickets = []
    for number, (about, reasons) in enumerate(waiting, start=top + 1):
        priority, hours = reasons.terms(risk_hours=risk_hours)
        due = due_times(priority=priority, hours=hours, calendar=calendar, policy=policy, start=now)
        to_senior = senior and (reasons.risks or _customer_id(about) in vip)
        tickets.append(
            Ticket(
                tenant_id=tenant.pk,
                number=number,
                **{subject: about},
                org_unit_id=senior if to_senior else (_unit_id(about) or queue_id),
                priority=priority,
                sla_due_at=due.resolution_due_at,
                sla_minutes=due.resolution_minutes,
                first_response_due_at=due.first_response_due_at,
                first_response_minutes=due.first_response_minutes,
                created_at=now,
                updated_at=now,
                escalation_check_at=now,
            )
        )
    assigned = _tickets_assign(tickets)
    Ticket.objects.bulk_create(tickets)
    TicketRule.objects.bulk_create(
        [
            match
            for ticket, (_response, reasons) in zip(tickets, waiting, strict=True)
            for match in _matches(ticket, reasons.rules, now=now)
        ]
    )
    events = TicketEvent.objects.bulk_create(
        [
            TicketEvent(
                tenant_id=tenant.pk,
                ticket=ticket,
                kind=TicketEvent.Kind.CREATED,
                to_status=ticket.status,
                note=reasons.describe(),
                at=now,
            )
            for ticket, (_response, reasons) in zip(tickets, waiting, strict=True)
        ]
        + [
            TicketEvent(
                tenant_id=tenant.pk,
                ticket=ticket,
                kind=TicketEvent.Kind.ASSIGNED,
                note=_("分派给 %(user)s（%(how)s）") % {"user": username, "how": how},
                at=now,
            )
            for ticket, username, how in assigned
        ]
    )
    ticket_events_created_on_commit(
        [event.pk for event in events if event.kind == TicketEvent.Kind.ASSIGNED]
    )
    return tickets


def _tickets_assign(tickets: list[Ticket]) -> list[tuple[Ticket, str, str]]:
    """Give new tickets of units that assign automatically to one of the unit's active,
    on-duty agents (scoped to that very unit): in turn after the last one given, or to the one
    with the fewest open tickets, counting those given in this batch. Tickets of units that
    leave them for claiming, or with no agent on duty, stay unassigned. Constant queries."""
    unit_ids = {ticket.org_unit_id for ticket in tickets if ticket.org_unit_id}
    modes = dict(
        OrgUnit.objects.filter(pk__in=unit_ids)
        .exclude(ticket_assignment=TicketAssignment.CLAIM)
        .values_list("pk", "ticket_assignment")
    )
    if not modes:
        return []
    agents: dict[int, list[tuple[int, str]]] = {}
    for unit_id, user_id, username in (
        Membership.objects.filter(
            org_unit_id__in=modes, role=Role.AGENT, on_duty=True, deactivated_at__isnull=True
        )
        .order_by("user_id")
        .values_list("org_unit_id", "user_id", "user__username")
    ):
        agents.setdefault(unit_id, []).append((user_id, username))
    load = dict(
        Ticket.objects.filter(
            assignee_id__in=[user for found in agents.values() for user, _name in found],
            status__in=OPEN_STATUSES,
        )
        .values_list("assignee_id")
        .annotate(open=Count("pk"))
        .order_by()
    )
    last_given = dict(
        TicketEvent.objects.filter(
            kind=TicketEvent.Kind.ASSIGNED, ticket__org_unit_id__in=list(agents)
        )
        .order_by("ticket__org_unit_id", "-at", "-pk")
        .distinct("ticket__org_unit_id")
        .values_list("ticket__org_unit_id", "ticket__assignee_id")
        if connection.vendor == "postgresql"
        else _last_given_portable(list(agents))
    )
    assigned = []
    for ticket in tickets:
        found = agents.get(ticket.org_unit_id)
        if not found:
            continue
        if modes[ticket.org_unit_id] == TicketAssignment.LEAST_LOADED:
            user_id, username = min(found, key=lambda agent: (load.get(agent[0], 0), agent[0]))
            how = _("在办最少")
        else:
            ids = [user for user, _name in found]
            previous = last_given.get(ticket.org_unit_id)
            turn = (ids.index(previous) + 1) % len(ids) if previous in ids else 0
            user_id, username = found[turn]
            how = _("轮流")
        ticket.assignee_id = user_id
        load[user_id] = load.get(user_id, 0) + 1
        last_given[ticket.org_unit_id] = user_id
        assigned.append((ticket, username, how))
    return assigned


def _last_given_portable(unit_ids: list[int]) -> dict[int, int]:
    """The agent each unit's latest automatic assignment went to (without DISTINCT ON)."""
    latest: dict[int, int] = {}
    for unit_id, assignee_id in (
        TicketEvent.objects.filter(kind=TicketEvent.Kind.ASSIGNED, ticket__org_unit_id__in=unit_ids)
        .order_by("-at", "-pk")
        .values_list("ticket__org_unit_id", "ticket__assignee_id")
    ):
        latest.setdefault(unit_id, assignee_id)
    return latest


def tickets_metric_totals(tickets: Iterable[Ticket]) -> dict[int, dict[MetricKey, Totals]]:
    """What tickets add to the metric rollups, by response id: one ticket per response."""
    return {
        ticket.response_id: {(Metric.TICKETS, ""): Totals(1)}
        for ticket in tickets
        if ticket.response_id is not None  # an external post's ticket has no touchpoint
    }


def _matches(ticket: Ticket, rules: list[AlertRule], *, now) -> list[TicketRule]:
    return [
        TicketRule(tenant_id=ticket.tenant_id, ticket=ticket, rule=rule, matched_at=now)
        for rule in rules
    ]


def _tickets_join(joining: list[tuple[Ticket, _Reasons]], *, tenant: Tenant, now) -> None:
    """Add to each ticket the rules it does not list yet; raise its priority and bring its due
    times forward if the new reasons ask for it. A later reason's SLA runs from when it matched
    (for a ticket waiting on the customer: from when it resumes).
    """
    if not joining:
        return
    listed: dict[int, set[int]] = {}
    for ticket_id, rule_id in TicketRule.objects.filter(
        ticket__in=[ticket for ticket, _reasons in joining]
    ).values_list("ticket_id", "rule_id"):
        listed.setdefault(ticket_id, set()).add(rule_id)
    risk_hours = risk_sla_hours(tenant)
    calendar, policy = tenant_calendar(tenant), sla_policy(tenant)
    matches: list[TicketRule] = []
    events: list[TicketEvent] = []
    changed: list[Ticket] = []
    for ticket, reasons in joining:
        known = listed.get(ticket.pk, set())
        new = _Reasons(
            rules=[rule for rule in reasons.rules if rule.pk not in known], risks=reasons.risks
        )
        if not new.rules and not new.risks:
            continue
        priority, hours = new.terms(risk_hours=risk_hours)
        due = due_times(priority=priority, hours=hours, calendar=calendar, policy=policy, start=now)
        raised = PRIORITY_RANK[priority] > PRIORITY_RANK[ticket.priority]
        sooner = _due_sooner(ticket, due.resolution_minutes, due.resolution_due_at)
        first_sooner = ticket.first_responded_at is None and (
            ticket.first_response_due_at is None
            or due.first_response_due_at < ticket.first_response_due_at
        )
        if not new.rules and not raised and not sooner and not first_sooner:
            continue
        matches += _matches(ticket, new.rules, now=now)
        notes = [new.describe()]
        if raised:
            notes.append(
                _("优先级：%(before)s → %(after)s")
                % {"before": ticket.get_priority_display(), "after": Priority(priority).label}
            )
            ticket.priority = priority
        if first_sooner:
            ticket.first_response_due_at = due.first_response_due_at
            ticket.first_response_minutes = due.first_response_minutes
            notes.append(
                _("首次响应截止提前至 %(due)s")
                % {"due": local_text(due.first_response_due_at, calendar)}
            )
        if sooner and ticket.sla_paused_at is not None:
            ticket.sla_left_minutes = due.resolution_minutes
            ticket.sla_minutes = due.resolution_minutes
            notes.append(
                _("SLA 剩余时间缩短为 %(span)s") % {"span": working_span(due.resolution_minutes)}
            )
        elif sooner:
            ticket.sla_due_at = due.resolution_due_at
            ticket.sla_minutes = due.resolution_minutes
            notes.append(
                _("SLA 截止提前至 %(due)s") % {"due": local_text(due.resolution_due_at, calendar)}
            )
        ticket.updated_at = now
        ticket.escalation_check_at = now  # its SLA may have moved: the sweep reckons it again
        changed.append(ticket)
        events.append(
            TicketEvent(
                tenant_id=ticket.tenant_id,
                ticket=ticket,
                kind=TicketEvent.Kind.MATCHED,
                note="；".join(notes),
                at=now,
            )
        )
    if changed:
        Ticket.objects.bulk_update(
            changed,
            [
                "priority",
                "sla_due_at",
                "sla_minutes",
                "sla_left_minutes",
                "first_response_due_at",
                "first_response_minutes",
                "updated_at",
                "escalation_check_at",
            ],
        )
        TicketRule.objects.bulk_create(matches)
        TicketEvent.objects.bulk_create(events)


def _due_sooner(ticket: Ticket, minutes: int, due_at) -> bool:
    """Whether a new reason's resolution target asks for more than the ticket's: an earlier
    due time, or, while the ticket waits on the customer, fewer minutes than it has left."""
    if ticket.sla_paused_at is not None:
        return minutes < (ticket.sla_left_minutes or 0)
    return due_at < ticket.sla_due_at


class TicketTransitionError(ValidationError):
    """The action is not allowed from the ticket's current state, or lacks what it needs."""


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str
    label: str  # a lazy translation: shown on the workbench buttons


S = TicketStatus
TRANSITIONS: dict[str, Transition] = {
    "claim": Transition(frozenset({S.OPEN, S.REOPENED}), S.IN_PROGRESS, _lazy("认领")),
    "wait_customer": Transition(frozenset({S.IN_PROGRESS}), S.WAITING_CUSTOMER, _lazy("等待客户")),
    "resume": Transition(frozenset({S.WAITING_CUSTOMER}), S.IN_PROGRESS, _lazy("继续处理")),
    "resolve": Transition(
        frozenset({S.IN_PROGRESS, S.WAITING_CUSTOMER}), S.RESOLVED, _lazy("解决")
    ),
    "close": Transition(frozenset({S.RESOLVED}), S.CLOSED, _lazy("关闭")),
    "reopen": Transition(frozenset({S.RESOLVED, S.CLOSED}), S.REOPENED, _lazy("重开")),
}


def transitions_available(ticket: Ticket) -> list[str]:
    return [action for action, move in TRANSITIONS.items() if ticket.status in move.sources]


@transaction.atomic
def ticket_transition(
    *,
    ticket: Ticket,
    action: str,
    by: Actor,
    note: str = "",
    root_cause: RootCause | None = None,
    resolution: str = "",
    follow_up: bool = False,
) -> Ticket:
    """Apply one action from TRANSITIONS; anything else is refused with a clear error.
    `follow_up` at closing invites the customer to the tenant's follow-up survey
    (alerts.recovery.follow_up_schedule); a ticket that cannot have one is refused and stays
    as it was."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    move = TRANSITIONS.get(action)
    if move is None:
        raise TicketTransitionError(_("未知操作：%(action)s") % {"action": action})
    if ticket.status not in move.sources:
        raise TicketTransitionError(
            _("工单当前状态为「%(status)s」，不能执行「%(action)s」。")
            % {"status": ticket.get_status_display(), "action": move.label}
        )
    follow_up = follow_up and action == "close"
    if follow_up and (problem := follow_up_problem(ticket)):
        raise TicketTransitionError(problem)
    if action == "resolve":
        root_cause = root_cause or ticket.root_cause
        if root_cause is None:
            raise TicketTransitionError(_("解决工单前请选择根本原因。"))
        offered = selectors.root_cause_choices(keep=ticket.root_cause_id)
        if not offered.filter(pk=root_cause.pk).exists():  # re-read: deactivated meanwhile
            raise TicketTransitionError(
                _("根本原因「%(name)s」已停用，请选择其他原因。") % {"name": root_cause.name}
            )
        ticket.root_cause = root_cause
        ticket.resolution = resolution.strip() or ticket.resolution
    previous = ticket.status
    now = timezone.now()
    ticket.status = move.target
    ticket.updated_at = now
    if action == "claim" and isinstance(by, AbstractBaseUser):
        ticket.assignee = by
    if move.target == S.CLOSED:
        ticket.closed_at = ticket.updated_at
    elif action == "reopen":
        ticket.closed_at = None
    _first_response_record(ticket, by=by, now=now)
    sla_events = _sla_follow_status(ticket, previous=previous, now=now)
    ticket.save()
    kind = {"claim": TicketEvent.Kind.CLAIMED, "reopen": TicketEvent.Kind.REOPENED}.get(
        action, TicketEvent.Kind.STATUS
    )
    _event(ticket, by=by, kind=kind, note=note.strip(), from_status=previous)
    for sla_kind, sla_note in sla_events:
        _event(ticket, by=by, kind=sla_kind, note=sla_note)
    if follow_up:
        follow_up_schedule(ticket, by=by)
    audit_record(
        by=by,
        action=f"ticket.{action}",
        target=ticket,
        before={"status": previous},
        after={"status": ticket.status},
    )
    return ticket


def _first_response_record(ticket: Ticket, *, by: Actor, now) -> None:
    """A person's (or partner system's) first action on a ticket is its first response."""
    if ticket.first_responded_at is None and by is not None:
        ticket.first_responded_at = now


def _sla_follow_status(ticket: Ticket, *, previous: str, now) -> list[tuple[str, str]]:
    """Stop the resolution clock when the ticket starts waiting on the customer and start it
    again when it stops waiting: the working minutes left at the pause give the new due time.
    A reopened ticket gets its resolution target again from the reopening. Returns the events
    to record, (kind, note)."""
    if previous == ticket.status:
        return []
    tenant = current_tenant()
    calendar = tenant_calendar(tenant)
    if ticket.status == S.REOPENED:
        minutes = ticket.sla_minutes or sla_policy(tenant).resolution[ticket.priority]
        ticket.sla_due_at = working_time_add(calendar, now, minutes)
        # A new resolution clock: the chain starts again from its first step.
        ticket.escalation_level, ticket.escalated_at, ticket.escalation_check_at = 0, None, now
        ticket.near_breach_warned_at = None
        return [(TicketEvent.Kind.SLA_RESUMED, sla_reopen_note(ticket.sla_due_at, calendar))]
    if ticket.status == S.WAITING_CUSTOMER:
        left = sla_pause(calendar, due_at=ticket.sla_due_at, at=now)
        ticket.sla_paused_at, ticket.sla_left_minutes = now, left
        return [(TicketEvent.Kind.SLA_PAUSED, sla_pause_note(left))]
    if previous == S.WAITING_CUSTOMER and ticket.sla_paused_at is not None:
        ticket.sla_due_at = sla_resume(
            calendar, due_at=ticket.sla_due_at, left=ticket.sla_left_minutes or 0, at=now
        )
        ticket.sla_paused_at, ticket.sla_left_minutes = None, None
        ticket.escalation_check_at = now
        return [(TicketEvent.Kind.SLA_RESUMED, sla_resume_note(ticket.sla_due_at, calendar))]
    return []


REASON_MAX = 500


def ticket_assignees(ticket: Ticket) -> list[Membership]:
    """The active members who may take the ticket over: their role works tickets and their
    scope holds its org unit."""
    unit_path = ticket.org_unit.path if ticket.org_unit_id else ""
    members = Membership.objects.filter(
        deactivated_at__isnull=True, role__in=PERMISSIONS["ticket.work"]
    ).select_related("user", "org_unit")
    return [m for m in members.order_by("user__username") if unit_path.startswith(m.scope_path)]


@transaction.atomic
def ticket_reassign(*, ticket: Ticket, to: AbstractBaseUser, reason: str, by: Actor) -> Ticket:
    """Give an open ticket to another member who may work it, with a reason, recorded as its
    own event: who had it, who has it now and why. An open ticket taken over is in progress."""
    actor_require_permission(by, "ticket.work")
    ticket = (
        Ticket.objects.select_for_update(of=("self",)).select_related("org_unit").get(pk=ticket.pk)
    )
    reason = _reason_clean(reason)
    if ticket.status not in OPEN_STATUSES:
        raise TicketTransitionError(_("工单已解决或关闭，不能改派。"))
    if to.pk not in {member.user_id for member in ticket_assignees(ticket)}:
        raise TicketTransitionError(_("该成员不能处理这张工单（角色或数据范围不符，或已停用）。"))
    if ticket.assignee_id == to.pk:
        raise TicketTransitionError(_("工单已由该成员处理。"))
    event = _assign(ticket, to=to, reason=reason, by=by)
    ticket_events_created_on_commit([event.pk])
    return ticket


def _reason_clean(reason: str) -> str:
    reason = reason.strip()
    if not reason or len(reason) > REASON_MAX or "\x00" in reason:
        raise TicketTransitionError(_("请填写改派原因（最多 %(max)d 字）。") % {"max": REASON_MAX})
    return reason


def _assign(ticket: Ticket, *, to: AbstractBaseUser, reason: str, by: Actor) -> TicketEvent:
    """Give the locked, open ticket to `to` (checked by the caller): a `reassigned` event and
    an audit row."""
    before = ticket.assignee.get_username() if ticket.assignee_id else None
    previous = ticket.status
    ticket.assignee = to
    if ticket.status == S.OPEN:
        ticket.status = S.IN_PROGRESS
    ticket.updated_at = timezone.now()
    ticket.save(update_fields=["assignee", "status", "updated_at"])
    event = _event(
        ticket,
        by=by,
        kind=TicketEvent.Kind.REASSIGNED,
        note=_("%(before)s → %(after)s：%(reason)s")
        % {"before": before or _("未分派"), "after": to.get_username(), "reason": reason},
        from_status=previous if ticket.status != previous else "",
    )
    audit_record(
        by=by,
        action="ticket.reassign",
        target=ticket,
        before={"assignee": before},
        after={"assignee": to.get_username(), "reason": reason},
    )
    return event


BULK_MAX = 200  # tickets one bulk action takes: the queue shows at most this many


def _tickets_for_bulk(ticket_ids: Sequence[int], *, by: Actor) -> list[Ticket]:
    """The tickets a manager selected, locked: every id must be a ticket of the current tenant
    in the actor's org scope, or the whole action is refused (an id of another tenant's ticket
    is simply not found here)."""
    actor_require_permission(by, "ticket.manage")
    ids = set()
    for value in ticket_ids:
        if isinstance(value, bool) or not str(value).isdigit():
            raise TicketTransitionError(_("请选择工单。"))
        ids.add(int(value))
    if not ids:
        raise TicketTransitionError(_("请先勾选工单。"))
    if len(ids) > BULK_MAX:
        raise TicketTransitionError(_("一次最多处理 %(max)d 张工单。") % {"max": BULK_MAX})
    tickets = list(
        selectors.tickets_in_scope(actor_scope_path(by))
        .select_for_update(of=("self",))
        .select_related("org_unit", "assignee")
        .filter(pk__in=ids)
        .order_by("pk")
    )
    if len(tickets) != len(ids):
        raise TicketTransitionError(
            _("有 %(count)d 张所选工单不存在或不在您的数据范围内，未做任何更改。")
            % {"count": len(ids) - len(tickets)}
        )
    return tickets


def _numbers(tickets: Iterable[Ticket]) -> str:
    return "、".join(f"#{ticket.number}" for ticket in tickets)


@transaction.atomic
def tickets_bulk_assign(
    *, ticket_ids: Sequence[int], to: AbstractBaseUser, reason: str = "", by: Actor
) -> list[Ticket]:
    """Give the selected open tickets to one member who may work each of them (role, scope):
    a `reassigned` event per ticket it moves; those the member already has are left as they
    are. A closed ticket, or one the member may not work, refuses the whole action. Returns the
    tickets moved."""
    tickets = _tickets_for_bulk(ticket_ids, by=by)
    reason = _reason_clean(reason or _("批量分派"))
    closed = [ticket for ticket in tickets if ticket.status not in OPEN_STATUSES]
    if closed:
        raise TicketTransitionError(
            _("工单 %(numbers)s 已解决或关闭，不能分派；未做任何更改。")
            % {"numbers": _numbers(closed)}
        )
    member = (
        Membership.objects.filter(
            user=to, deactivated_at__isnull=True, role__in=PERMISSIONS["ticket.work"]
        )
        .select_related("org_unit")
        .first()
    )
    outside = [
        ticket
        for ticket in tickets
        if member is None
        or not (ticket.org_unit.path if ticket.org_unit_id else "").startswith(member.scope_path)
    ]
    if outside:
        raise TicketTransitionError(
            _("该成员不能处理工单 %(numbers)s（角色或数据范围不符，或已停用）；未做任何更改。")
            % {"numbers": _numbers(outside)}
        )
    moved = [ticket for ticket in tickets if ticket.assignee_id != to.pk]
    events = [_assign(ticket, to=to, reason=reason, by=by) for ticket in moved]
    ticket_events_created_on_commit([event.pk for event in events])
    return moved


@transaction.atomic
def tickets_close_as_duplicate(
    *, ticket_ids: Sequence[int], duplicate_of_number: int, by: Actor
) -> list[Ticket]:
    """Close the selected tickets as duplicates of ticket `duplicate_of_number` (the one kept,
    in the actor's scope, not itself closed as a duplicate, not among the selected): a
    `duplicate` event on each ticket closed, and a note on the one kept naming them. A ticket
    already closed refuses the whole action. Returns the tickets closed."""
    tickets = _tickets_for_bulk(ticket_ids, by=by)
    kept = (
        selectors.tickets_in_scope(actor_scope_path(by))
        .select_for_update(of=("self",))
        .filter(number=duplicate_of_number)
        .first()
        if isinstance(duplicate_of_number, int) and not isinstance(duplicate_of_number, bool)
        else None
    )
    if kept is None:
        raise TicketTransitionError(_("要保留的工单不存在或不在您的数据范围内。"))
    if kept.pk in {ticket.pk for ticket in tickets}:
        raise TicketTransitionError(
            _("要保留的工单 #%(number)s 不能同时被关闭。") % {"number": kept.number}
        )
    if kept.duplicate_of_id is not None:
        raise TicketTransitionError(
            _("工单 #%(number)s 本身已作为重复工单关闭，请选择它所重复的工单。")
            % {"number": kept.number}
        )
    closed = [ticket for ticket in tickets if ticket.status == S.CLOSED]
    if closed:
        raise TicketTransitionError(
            _("工单 %(numbers)s 已关闭；未做任何更改。") % {"numbers": _numbers(closed)}
        )
    now = timezone.now()
    for ticket in tickets:
        previous = ticket.status
        ticket.status, ticket.closed_at, ticket.updated_at = S.CLOSED, now, now
        ticket.duplicate_of = kept
        ticket.escalation_check_at = None
        ticket.sla_paused_at = ticket.sla_left_minutes = None
        _first_response_record(ticket, by=by, now=now)
        ticket.save()
        _event(
            ticket,
            by=by,
            kind=TicketEvent.Kind.DUPLICATE,
            note=_("与工单 #%(number)s 重复，已关闭。") % {"number": kept.number},
            from_status=previous,
        )
        audit_record(
            by=by,
            action="ticket.close_duplicate",
            target=ticket,
            before={"status": previous},
            after={"status": ticket.status, "duplicate_of": kept.number},
        )
    kept.updated_at = now
    kept.save(update_fields=["updated_at"])
    _event(
        kept,
        by=by,
        kind=TicketEvent.Kind.NOTE,
        note=_("重复工单 %(numbers)s 已并入本工单关闭。") % {"numbers": _numbers(tickets)},
    )
    return tickets


NOTE_MAX = 5000  # characters of a note or a customer's reply


@transaction.atomic
def ticket_customer_reply(*, ticket: Ticket, text: str, by: Actor) -> Ticket:
    """Record what the customer answered, relayed by an agent or a partner's system, as its
    own event, which tells the ticket's assignee. A ticket waiting on the customer goes back
    to in progress, its SLA clock running again; a closed one is refused (the customer's new
    complaint is a new response)."""
    actor_require_permission(by, "ticket.work")
    text = text_without_unstorable(text).strip()
    if not text:
        raise TicketTransitionError(_("客户回复不能为空。"))
    if len(text) > NOTE_MAX:
        raise TicketTransitionError(_("客户回复最多 %(max)d 字。") % {"max": NOTE_MAX})
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.status == S.CLOSED:
        raise TicketTransitionError(_("工单已关闭，不能再记录客户回复。"))
    event = _event(ticket, by=by, kind=TicketEvent.Kind.CUSTOMER_REPLY, note=text)
    ticket_events_created_on_commit([event.pk])
    if ticket.status == S.WAITING_CUSTOMER:
        return ticket_transition(ticket=ticket, action="resume", by=by)
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now())
    return ticket


@transaction.atomic
def ticket_note_add(*, ticket: Ticket, by: Actor, note: str) -> TicketEvent:
    note = note.strip()
    if not note:
        raise TicketTransitionError(_("跟进记录不能为空。"))
    if len(note) > NOTE_MAX:
        raise TicketTransitionError(_("跟进记录最多 5000 字。"))
    now = timezone.now()
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
    Ticket.objects.filter(pk=ticket.pk, first_responded_at__isnull=True).update(
        first_responded_at=now
    )
    return _event(ticket, by=by, kind=TicketEvent.Kind.NOTE, note=note)


@transaction.atomic
def tickets_return_to_queue(*, assignee: AbstractBaseUser, by: Actor) -> int:
    """Unassign `assignee`'s open tickets of the current tenant (they left it): each goes back
    to its org unit's queue, claimable again, with the move in its history. Returns the count."""
    tickets = list(
        Ticket.objects.select_for_update().filter(assignee=assignee, status__in=OPEN_STATUSES)
    )
    now = timezone.now()
    for ticket in tickets:
        previous = ticket.status
        ticket.assignee = None
        ticket.updated_at = now
        # A claimed ticket with nobody on it could never be claimed again: reopen it for claiming.
        if previous in (S.IN_PROGRESS, S.WAITING_CUSTOMER):
            ticket.status = S.OPEN
        sla_events = _sla_follow_status(ticket, previous=previous, now=now)
        ticket.save(
            update_fields=[
                "assignee",
                "status",
                "updated_at",
                "sla_due_at",
                "sla_paused_at",
                "sla_left_minutes",
                "escalation_check_at",
            ]
        )
        _event(
            ticket,
            by=by,
            kind=TicketEvent.Kind.STATUS if ticket.status != previous else TicketEvent.Kind.NOTE,
            note=_("处理人 %(user)s 已停用，工单退回队列。") % {"user": assignee.get_username()},
            from_status=previous if ticket.status != previous else "",
        )
        for sla_kind, sla_note in sla_events:
            _event(ticket, by=by, kind=sla_kind, note=sla_note)
    return len(tickets)


ESCALATION_BATCH = 500


def tickets_escalate_due(*, batch: int = ESCALATION_BATCH) -> int:
    """Take every running ticket whose next escalation step is due one step up its tenant's
    chain (alerts/escalation.py), across all tenants; a system job, on beat. A ticket takes one
    step per run at most, so one found far past its SLA climbs the chain a run at a time.
    Returns the escalation events written. Safe to run twice and from two workers at once."""
    count = 0
    for tenant in each_active_tenant():
        now = timezone.now()
        while True:
            escalated, taken = _tickets_escalate_batch(tenant=tenant, now=now, batch=batch)
            count += escalated
            if taken < batch:
                break
    return count


@transaction.atomic
def _tickets_escalate_batch(*, tenant: Tenant, now, batch: int) -> tuple[int, int]:
    """One batch of the current tenant's tickets due a look, in five queries whatever its size:
    each either takes its next step (an `escalated` event naming the manager reached, its level
    raised) or has the time of that step kept for the next look, and its assignee is told once
    when the resolution clock is near breach (a `near_breach` event). A ticket nobody has
    responded to by its first-response due time reaches its unit's manager once, which is its
    step of that run (`_first_response_escalation`). Rows are locked and those another sweep
    holds are skipped; the lock re-reads a row another sweep just changed, so a level is never
    taken twice. Returns (escalations written, tickets taken)."""
    tickets = list(
        Ticket.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("org_unit")
        .filter(
            Q(escalated_at__isnull=True) | Q(escalated_at__lt=now),
            escalation_check_at__lte=now,
            status__in=OPEN_STATUSES,
            sla_paused_at__isnull=True,
        )
        .order_by("escalation_check_at", "pk")[:batch]
    )
    if not tickets:
        return 0, 0
    chain = escalation_chain(tenant)
    calendar, policy = tenant_calendar(tenant), sla_policy(tenant)
    near_breach = EscalationStep(policy.near_breach_percent, "unit")
    people = _escalation_people(tickets, chain)
    events: list[TicketEvent] = []
    for ticket in tickets:
        # The assignee is told once when the resolution clock is near breach; the chain's
        # steps reach the managers above.
        warn_at = None
        if ticket.near_breach_warned_at is None and ticket.assignee_id:
            warn_at = step_due_at(ticket, near_breach, calendar=calendar, policy=policy)
            if warn_at <= now:
                ticket.near_breach_warned_at, ticket.updated_at, warn_at = now, now, None
                events.append(_near_breach_event(ticket, policy=policy, now=now))
        first_response, steps = people[ticket.pk]
        first_response_at = _first_response_escalation(
            ticket, reached=first_response, steps=steps, events=events, now=now
        )
        if ticket.first_response_escalated_at == now:
            step_at = now  # one step per run: the chain's next step is reckoned at the next
        else:
            step_at = _escalation_step(
                ticket,
                chain=chain,
                people=steps,
                told_at_first_response=(
                    first_response.user_id if ticket.first_response_escalated_at else None
                ),
                events=events,
                calendar=calendar,
                policy=policy,
                now=now,
            )
        ticket.escalation_check_at = min(
            (t for t in (warn_at, first_response_at, step_at) if t), default=None
        )
    update_many(
        tickets,
        [
            "escalation_level",
            "escalated_at",
            "escalation_check_at",
            "near_breach_warned_at",
            "first_response_escalated_at",
            "updated_at",
        ],
    )
    if events:
        TicketEvent.objects.bulk_create(events)
        ticket_events_created_on_commit([event.pk for event in events])
    return sum(event.kind == TicketEvent.Kind.ESCALATED for event in events), len(tickets)


def _first_response_escalation(
    ticket: Ticket, *, reached: Reached, steps: list[Reached], events: list[TicketEvent], now
):
    """Tell the manager `reached` (of the ticket's unit, alerts.escalation.FIRST_RESPONSE_STEP)
    when nobody has responded to the ticket by its first-response due time: once per ticket,
    an `escalated` event that leaves the escalation level as it is. A manager the chain's steps
    taken so far have already told is not told again: the event records it without a person.
    A tenant whose chain has no steps escalates nothing, this neither. Returns when the ticket
    should be looked at for it, None when it is no longer due."""
    if (
        not steps  # a tenant without a chain escalates nothing
        or ticket.first_responded_at is not None
        or ticket.first_response_due_at is None
        or ticket.first_response_escalated_at is not None
    ):
        return None
    if ticket.first_response_due_at > now:
        return ticket.first_response_due_at
    told = {person.user_id for person in steps[: ticket.escalation_level]}
    already_told = reached.user_id is not None and reached.user_id in told
    ticket.first_response_escalated_at = ticket.escalated_at = ticket.updated_at = now
    events.append(
        TicketEvent(
            tenant_id=ticket.tenant_id,
            ticket=ticket,
            kind=TicketEvent.Kind.ESCALATED,
            to_user_id=None if already_told else reached.user_id,
            note=_first_response_escalation_note(reached, already_told=already_told),
            at=now,
        )
    )
    return None


def _first_response_escalation_note(reached: Reached, *, already_told: bool) -> str:
    if reached.user_id is None:
        return _("首次响应超时，无人响应：上级均无可通知的负责人。")
    unit = {"unit": reached.unit.name}
    if already_told:
        return _("首次响应超时，无人响应：「%(unit)s」负责人已收到本工单的升级通知。") % unit
    return _("首次响应超时，无人响应：通知「%(unit)s」负责人。") % unit


def _escalation_step(
    ticket: Ticket,
    *,
    chain: Sequence[EscalationStep],
    people: list[Reached],
    told_at_first_response: int | None,
    events: list[TicketEvent],
    calendar,
    policy,
    now,
):
    """Take the ticket's next step of the chain if it is due (its event added to `events`);
    returns when the ticket's next step is due, None when none is left. A step that reaches the
    manager the first-response escalation told is taken without telling them again."""
    level = ticket.escalation_level
    if level >= len(chain):
        return None
    due = step_due_at(ticket, chain[level], calendar=calendar, policy=policy)
    if due > now:
        return due
    reached = people[level]
    already_told = reached.user_id is not None and reached.user_id == told_at_first_response
    ticket.escalation_level = level + 1
    ticket.escalated_at = ticket.updated_at = now
    events.append(
        TicketEvent(
            tenant_id=ticket.tenant_id,
            ticket=ticket,
            kind=TicketEvent.Kind.ESCALATED,
            to_user_id=None if already_told else reached.user_id,
            note=_escalation_note(reached, level=level + 1, already_told=already_told),
            at=now,
        )
    )
    if level + 1 < len(chain):
        return step_due_at(ticket, chain[level + 1], calendar=calendar, policy=policy)
    return None


def _near_breach_event(ticket: Ticket, *, policy, now) -> TicketEvent:
    return TicketEvent(
        tenant_id=ticket.tenant_id,
        ticket=ticket,
        kind=TicketEvent.Kind.NEAR_BREACH,
        to_user_id=ticket.assignee_id,
        note=_("解决时限已用 %(percent)d%%（工作时间），请尽快处理。")
        % {"percent": policy.near_breach_percent},
        at=now,
    )


def _escalation_people(tickets: list[Ticket], chain) -> dict[int, tuple[Reached, list[Reached]]]:
    """Whom the first-response escalation and each step of the chain reach for each ticket: two
    queries for the batch (the units up the tree, the managers still active members)."""
    paths = {ticket.pk: ticket.org_unit.path if ticket.org_unit_id else "" for ticket in tickets}
    unit_ids = {pk for path in paths.values() for pk in unit_ancestor_ids(path)}
    units = OrgUnit.objects.in_bulk(unit_ids)
    managers = {unit.manager_id for unit in units.values() if unit.manager_id}
    active = set(
        Membership.objects.filter(user_id__in=managers, deactivated_at__isnull=True).values_list(
            "user_id", flat=True
        )
    )
    people = {}
    for ticket in tickets:
        ancestors = [units[pk] for pk in unit_ancestor_ids(paths[ticket.pk]) if pk in units]
        reach = partial(
            chain_people,
            ancestors=ancestors,
            active_user_ids=active,
            assignee_id=ticket.assignee_id,
        )
        people[ticket.pk] = (reach(chain=(FIRST_RESPONSE_STEP,))[0], reach(chain=chain))
    return people


def _escalation_note(reached: Reached, *, level: int, already_told: bool = False) -> str:
    step = {"level": level, "step": reached.step.level_label, "percent": reached.step.percent}
    if already_told:
        return _(
            "第 %(level)d 级升级（%(step)s，SLA 已用 %(percent)d%%）："
            "「%(unit)s」负责人已在首次响应超时时收到通知。"
        ) % {**step, "unit": reached.unit.name}
    if reached.user_id is None:
        return (
            _("第 %(level)d 级升级（%(step)s，SLA 已用 %(percent)d%%）：上级均无可通知的负责人。")
            % step
        )
    reaches = _("第 %(level)d 级升级（%(step)s，SLA 已用 %(percent)d%%）：通知「%(unit)s」负责人。")
    return reaches % {**step, "unit": reached.unit.name}
