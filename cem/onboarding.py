"""The first-run checklist of a new tenant. It spans every app, so it lives in the project
package: each step says what "done" means as a query, and all are answered in one statement."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, QuerySet
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from journeys.models import Journey
from organizations.models import (
    ApiKey,
    AuditEvent,
    MemberInvitation,
    Membership,
    OrgUnit,
    Role,
    Tenant,
)
from surveys.models import Survey


@dataclass(frozen=True)
class Step:
    key: str
    title: Promise
    hint: Promise
    url_name: str


@dataclass(frozen=True)
class StepState:
    step: Step
    done: bool
    url: str


STEPS = (
    Step(
        "org_units",
        _("搭建组织架构"),
        _("添加区域、网点或团队，成员和数据按单元划分。"),
        "org_units",
    ),
    Step("members", _("邀请成员"), _("邀请同事并分配角色和数据范围。"), "members"),
    Step("journey", _("建立客户旅程"), _("用模板或从零开始建立旅程、阶段和触点。"), "journey_new"),
    Step("survey", _("在触点发布问卷"), _("为一个触点设计并发布问卷。"), "survey_index"),
    Step(
        "alert_rule",
        _("设置预警规则"),
        _("检查默认规则或新建规则，让差评自动生成工单。"),
        "alert_rules",
    ),
    Step("api_key", _("创建 API 密钥"), _("让 CRM 等系统推送事件、读取数据。"), "api_keys"),
)


def _done_queries() -> dict[str, QuerySet]:
    """For each step, the rows whose existence means it is done (in the current tenant)."""
    return {
        "org_units": OrgUnit.objects.exclude(parent=None),
        # Someone besides the owners, or on the way: an invitation not yet answered.
        "members": Membership.objects.filter(deactivated_at__isnull=True).exclude(role=Role.OWNER),
        "invitations": MemberInvitation.objects.filter(
            accepted_at__isnull=True, revoked_at__isnull=True
        ),
        "journey": Journey.objects.all(),
        "survey": Survey.objects.filter(status=Survey.Status.PUBLISHED, touchpoint__isnull=False),
        # The default rule is installed with the tenant: done once a person has touched a rule.
        "alert_rule": AuditEvent.objects.filter(action__startswith="alert_rule."),
        "api_key": ApiKey.objects.filter(revoked_at=None),
    }


def checklist(tenant: Tenant) -> list[StepState]:
    """Each step with whether it is done and where to do it: one query whatever the data."""
    queries = _done_queries()
    flags = (
        Tenant.objects.filter(pk=tenant.pk)
        .annotate(**{key: Exists(query) for key, query in queries.items()})
        .values(*queries)
        .get()
    )
    flags["members"] = flags["members"] or flags.pop("invitations")
    return [
        StepState(
            step, flags[step.key], reverse(step.url_name, kwargs={"tenant_slug": tenant.slug})
        )
        for step in STEPS
    ]
