"""Writes of improvement projects: opening one by hand, proposing one for a recurring root cause,
changing its owner, status and fix date, and its actions. Every write is audited.

Authority (问题分级: the owner must be able to act at the project's level):

- individual (个案补救): any active member who works tickets: agent, cx_manager, admin, owner;
- process (流程改进): a cx_manager, admin or owner, or the manager of one of the project's org
  units (the person who runs the process there);
- strategic (战略改进): an admin or owner.

A viewer owns nothing. An owner who lacks the authority is refused with a message.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.models import RootCause, Ticket
from analytics.models import Topic
from improvements.models import (
    ACTIVE_STATUSES,
    ImprovementProject,
    Level,
    ProjectAction,
    ProjectOrgUnit,
    ProjectStatus,
    ProjectTicket,
    ProjectTopic,
    ProjectTouchpoint,
)
from improvements.signals import projects_proposed_on_commit
from journeys.models import Touchpoint
from organizations.access import actor_require_permission
from organizations.models import Membership, OrgUnit, Role, Tenant
from organizations.services import Actor, audit_record
from organizations.tenancy import current_tenant, each_active_tenant

OWNER_ROLES: dict[str, frozenset[str]] = {
    Level.INDIVIDUAL: frozenset({Role.AGENT, Role.CX_MANAGER, Role.ADMIN, Role.OWNER}),
    Level.PROCESS: frozenset({Role.CX_MANAGER, Role.ADMIN, Role.OWNER}),
    Level.STRATEGIC: frozenset({Role.ADMIN, Role.OWNER}),
}

# The recurring-cause rule and its defaults: a cause recorded on at least `tickets` tickets
# opened in the last `days` days, in at least `units` org units, is proposed as a project.
RECURRING = "recurring_causes"
RECURRING_DEFAULTS = {"tickets": 5, "days": 30, "units": 2}


def recurring_settings(tenant: Tenant) -> dict[str, int]:
    stored = tenant.settings.get(RECURRING) or {}
    return {key: int(stored.get(key, default)) for key, default in RECURRING_DEFAULTS.items()}


@transaction.atomic
def recurring_settings_update(
    *, tenant: Tenant, tickets: int, days: int, units: int, by: Actor
) -> dict[str, int]:
    """Set the recurring-cause rule of `tenant`; numbers out of range are refused."""
    actor_require_permission(by, "improvement.manage")
    if not (2 <= tickets <= 10_000 and 1 <= days <= 365 and 1 <= units <= 10_000):
        raise ValidationError(
            _("工单数须在 2 到 10000 之间，天数在 1 到 365 之间，单元数在 1 到 10000 之间。")
        )
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = recurring_settings(tenant)
    tenant.settings[RECURRING] = {"tickets": tickets, "days": days, "units": units}
    tenant.save(update_fields=["settings"])
    audit_record(
        by=by,
        action="improvement.recurring_settings",
        target=tenant,
        before=before,
        after=tenant.settings[RECURRING],
    )
    return tenant.settings[RECURRING]


def owner_may_lead(*, user: AbstractBaseUser, level: str, unit_ids: Iterable[int]) -> bool:
    membership = Membership.objects.filter(user=user, deactivated_at__isnull=True).first()
    if membership is None:
        return False
    if membership.role in OWNER_ROLES[level]:
        return True
    return (
        level == Level.PROCESS
        and membership.role != Role.VIEWER
        and OrgUnit.objects.filter(pk__in=list(unit_ids), manager=user).exists()
    )


def _owner_check(project: ImprovementProject, owner: AbstractBaseUser | None) -> None:
    if owner is None:
        return
    unit_ids = list(
        ProjectOrgUnit.objects.filter(project=project).values_list("org_unit", flat=True)
    )
    if not owner_may_lead(user=owner, level=project.level, unit_ids=unit_ids):
        raise ValidationError(
            _("%(user)s 没有负责「%(level)s」项目的权限：%(rule)s")
            % {
                "user": owner.get_full_name() or owner.get_username(),
                "level": Level(project.level).label,
                "rule": owner_rule_text(project.level),
            }
        )


def owner_rule_text(level: str) -> str:
    return {
        Level.INDIVIDUAL: _("个案补救项目可由一线专员及以上角色负责。"),
        Level.PROCESS: _("流程改进项目须由体验经理、管理员、所有者或所涉单元的负责人负责。"),
        Level.STRATEGIC: _("战略改进项目须由管理员或所有者负责。"),
    }[level]


def _state(project: ImprovementProject) -> dict:
    return {
        "title": project.title,
        "status": project.status,
        "level": project.level,
        "owner": project.owner_id,
        "fix_date": project.fix_date.isoformat() if project.fix_date else None,
    }


def _links_add(
    project: ImprovementProject,
    *,
    tickets: Iterable[Ticket] = (),
    touchpoints: Iterable[Touchpoint] = (),
    org_units: Iterable[OrgUnit] = (),
    topics: Iterable[Topic] = (),
) -> None:
    tenant = project.tenant
    for model, field, rows in (
        (ProjectTicket, "ticket", tickets),
        (ProjectTouchpoint, "touchpoint", touchpoints),
        (ProjectOrgUnit, "org_unit", org_units),
        (ProjectTopic, "topic", topics),
    ):
        model.objects.bulk_create(
            [model(tenant=tenant, project=project, **{field: row}) for row in rows],
            ignore_conflicts=True,
        )


def _active_project_refusal(cause: RootCause) -> ValidationError:
    return ValidationError(
        _("「%(cause)s」已有待确认或进行中的改进项目，请在该项目中继续。") % {"cause": cause.name}
    )


def project_create(
    *,
    title: str,
    level: str,
    root_cause: RootCause | None = None,
    owner: AbstractBaseUser | None = None,
    description: str = "",
    touchpoints: Iterable[Touchpoint] = (),
    org_units: Iterable[OrgUnit] = (),
    topics: Iterable[Topic] = (),
    by: Actor,
) -> ImprovementProject:
    """A CX manager opens a project by hand: it starts open, its tickets are the cause's
    open-window tickets if a cause is given."""
    actor_require_permission(by, "improvement.manage")
    title = title.strip()
    if not title:
        raise ValidationError(_("请填写项目标题。"))
    if level not in Level.values:
        raise ValidationError(_("请选择问题层级：个案补救、流程改进或战略改进。"))
    now = timezone.now()
    project = ImprovementProject(
        title=title,
        level=level,
        root_cause=root_cause,
        description=description.strip(),
        status=ProjectStatus.OPEN,
        origin=ImprovementProject.Origin.MANUAL,
        created_at=now,
        opened_at=now,
    )
    try:
        with transaction.atomic():
            project.save()
            _links_add(project, touchpoints=touchpoints, org_units=org_units, topics=topics)
            _owner_check(project, owner)
            project.owner = owner
            project.save(update_fields=["owner"])
            audit_record(by=by, action="improvement.create", target=project, after=_state(project))
    except IntegrityError as error:
        raise _active_project_refusal(root_cause) from error
    return project


@transaction.atomic
def project_update(
    *,
    project: ImprovementProject,
    owner: AbstractBaseUser | None,
    status: str,
    fix_date: date | None,
    review_days_before: int,
    review_days_after: int,
    by: Actor,
) -> ImprovementProject:
    actor_require_permission(by, "improvement.manage")
    project = ImprovementProject.objects.select_for_update().get(pk=project.pk)
    before = _state(project)
    if status not in ProjectStatus.values:
        raise ValidationError(_("未知的项目状态。"))
    if not (1 <= review_days_before <= 365 and 1 <= review_days_after <= 365):
        raise ValidationError(_("复盘的前后天数须在 1 到 365 之间。"))
    today = timezone.localdate(timezone=ZoneInfo(project.tenant.time_zone))
    if fix_date is not None and fix_date > today:
        raise ValidationError(_("上线日期不能晚于今天：复盘只比较已经发生的数据。"))
    _owner_check(project, owner)
    now = timezone.now()
    if status == ProjectStatus.OPEN and project.opened_at is None:
        project.opened_at = now
    if status in (ProjectStatus.DONE, ProjectStatus.DROPPED):
        project.closed_at = project.closed_at or now
    else:
        project.closed_at = None
    project.owner = owner
    project.status = status
    project.fix_date = fix_date
    project.review_days_before = review_days_before
    project.review_days_after = review_days_after
    try:
        with transaction.atomic():
            project.save()
    except IntegrityError as error:
        raise _active_project_refusal(project.root_cause) from error
    audit_record(
        by=by, action="improvement.update", target=project, before=before, after=_state(project)
    )
    return project


@transaction.atomic
def project_links_set(
    *,
    project: ImprovementProject,
    touchpoints: Iterable[Touchpoint],
    org_units: Iterable[OrgUnit],
    topics: Iterable[Topic],
    by: Actor,
) -> ImprovementProject:
    """Replace the project's touchpoints, org units and topics (its tickets stay). Refused
    when the owner led a process project only as the manager of a unit taken away."""
    actor_require_permission(by, "improvement.manage")
    project = ImprovementProject.objects.select_for_update().get(pk=project.pk)
    before = _links_state(project)
    for model in (ProjectTouchpoint, ProjectOrgUnit, ProjectTopic):
        model.objects.filter(project=project).delete()
    _links_add(project, touchpoints=touchpoints, org_units=org_units, topics=topics)
    _owner_check(project, project.owner)
    audit_record(
        by=by,
        action="improvement.links",
        target=project,
        before=before,
        after=_links_state(project),
    )
    return project


def _links_state(project: ImprovementProject) -> dict:
    return {
        "touchpoints": sorted(project.touchpoints.values_list("pk", flat=True)),
        "org_units": sorted(project.org_units.values_list("pk", flat=True)),
        "topics": sorted(project.topics.values_list("pk", flat=True)),
    }


@transaction.atomic
def action_add(
    *,
    project: ImprovementProject,
    description: str,
    owner: AbstractBaseUser | None,
    due_date: date | None,
    by: Actor,
) -> ProjectAction:
    actor_require_permission(by, "improvement.manage")
    description = description.strip()
    if not description:
        raise ValidationError(_("请填写行动内容。"))
    if (
        owner is not None
        and not Membership.objects.filter(user=owner, deactivated_at__isnull=True)
        .exclude(role=Role.VIEWER)
        .exists()
    ):
        raise ValidationError(_("行动负责人须是本租户的在职成员（访客除外）。"))
    action = ProjectAction.objects.create(
        project=project, description=description, owner=owner, due_date=due_date
    )
    audit_record(
        by=by,
        action="improvement.action_add",
        target=project,
        after={"action": action.pk, "description": description, "owner": action.owner_id},
    )
    return action


@transaction.atomic
def action_done(*, action: ProjectAction, by: Actor) -> ProjectAction:
    """Mark an action done; the managers and the action's own owner may. Twice is once."""
    if not (isinstance(by, AbstractBaseUser) and action.owner_id == by.pk):
        actor_require_permission(by, "improvement.manage")
    action = ProjectAction.objects.select_for_update().get(pk=action.pk)
    if action.done_at is None:
        action.done_at = timezone.now()
        action.save(update_fields=["done_at"])
        audit_record(
            by=by,
            action="improvement.action_done",
            target=action.project,
            after={"action": action.pk},
        )
    return action


def _recurring_level(cause: RootCause) -> str:
    """A cause that recurs across units is at least a process problem, whatever its usual level."""
    return Level.STRATEGIC if cause.level == Level.STRATEGIC else Level.PROCESS


def recurring_causes_propose(*, now: datetime | None = None) -> list[ImprovementProject]:
    """In the current tenant: propose one project per root cause recorded on at least N
    tickets opened in the last M days across at least K org units, unless the cause already
    has a proposed or open project. Safe to run twice or concurrently: the partial unique
    constraint lets only one proposal per cause in. Each proposal, once committed, is announced
    (improvements.signals.projects_proposed) for the notifications to tell the CX managers."""
    tenant = current_tenant()
    rule = recurring_settings(tenant)
    since = (now or timezone.now()) - timedelta(days=rule["days"])
    busy = ImprovementProject.objects.filter(
        status__in=ACTIVE_STATUSES, root_cause__isnull=False
    ).values("root_cause")
    recurring = (
        Ticket.objects.filter(root_cause__isnull=False, created_at__gte=since)
        .exclude(root_cause__in=busy)
        .values("root_cause")
        .annotate(tickets=Count("id"), units=Count("org_unit", distinct=True))
        .filter(tickets__gte=rule["tickets"], units__gte=rule["units"])
        .order_by("root_cause")
    )
    proposed = []
    for row in recurring:
        cause = RootCause.objects.get(pk=row["root_cause"])
        tickets = list(
            Ticket.objects.filter(root_cause=cause, created_at__gte=since).select_related(
                "response"
            )
        )
        try:
            with transaction.atomic():
                project = ImprovementProject.objects.create(
                    title=_("复发原因：%(cause)s") % {"cause": cause.name},
                    root_cause=cause,
                    level=_recurring_level(cause),
                    origin=ImprovementProject.Origin.RECURRING,
                    description=_(
                        "近 %(days)s 天内有 %(tickets)s 张工单记录了该原因，涉及 %(units)s 个单元。"
                    )
                    % {"days": rule["days"], "tickets": row["tickets"], "units": row["units"]},
                )
                _links_add(
                    project,
                    tickets=tickets,
                    org_units=OrgUnit.objects.filter(
                        pk__in={t.org_unit_id for t in tickets if t.org_unit_id}
                    ),
                    touchpoints=Touchpoint.objects.filter(
                        pk__in={
                            t.response.touchpoint_id
                            for t in tickets
                            if t.response_id and t.response.touchpoint_id
                        }
                    ),
                )
                audit_record(
                    by=None, action="improvement.propose", target=project, after=_state(project)
                )
                projects_proposed_on_commit([project.pk])  # the CX managers are told once
        except IntegrityError:
            continue  # another run proposed it a moment ago
        proposed.append(project)
    return proposed


def recurring_causes_sweep() -> int:
    """The beat job: every active tenant, each in its own tenant context."""
    return sum(len(recurring_causes_propose()) for _tenant in each_active_tenant())
