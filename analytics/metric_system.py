"""Writes of the metric system: the metrics that count for a touchpoint with their targets and
weights, org units' own targets, and the tenant's default NPS target. Each checks the actor's
role ("journey.manage"), refuses bad input with a message in the user's language before it
writes anything, and records the change in the audit log."""

from __future__ import annotations

import math

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from analytics.cx_index import METRIC_LABELS, METRIC_RANGES, SCORED_METRICS
from analytics.journey_map import DEFAULT_NPS_TARGET_SETTING
from analytics.models import Metric, OrgUnitMetricTarget, TouchpointMetric
from journeys.models import Touchpoint
from organizations.access import actor_require_permission
from organizations.models import OrgUnit, Tenant
from organizations.services import audit_record
from surveys.definition import DEFAULT_LANGUAGE, iter_questions, localized
from surveys.models import Survey, SurveyVersion

MAX_WEIGHT = 100.0


def _number(raw: object, *, what: str) -> float:
    try:
        value = float(str(raw).strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValidationError(
            _("%(what)s「%(value)s」不是有效的数字。") % {"what": what, "value": str(raw)[:40]}
        )
    return value


def weight_parse(raw: object) -> float:
    weight = _number(raw, what=_("权重"))
    if weight < 0:
        raise ValidationError(_("权重不能为负数。"))
    if weight == 0 or weight > MAX_WEIGHT:
        raise ValidationError(_("权重须大于 0 且不超过 %(max)s。") % {"max": int(MAX_WEIGHT)})
    return weight


def target_parse(raw: object, *, metric: str) -> float:
    target = _number(raw, what=_("目标值"))
    low, high = METRIC_RANGES[metric]
    if not low <= target <= high:
        raise ValidationError(
            _("%(metric)s 的目标值须在 %(low)s 到 %(high)s 之间。")
            % {"metric": METRIC_LABELS[metric], "low": f"{low:g}", "high": f"{high:g}"}
        )
    return target


def rating_questions(touchpoint: Touchpoint) -> list[tuple[str, str]]:
    """The rating questions of the surveys at `touchpoint` as (rollup key, label): the
    questions of each survey's live version, or of its latest draft before it is published."""
    surveys = list(Survey.objects.filter(touchpoint=touchpoint).order_by("id"))
    versions = {
        version.survey_id: version
        for version in SurveyVersion.objects.filter(survey__in=surveys).order_by("number")
    }  # the last of each survey's versions wins
    live = {
        version.pk: version
        for version in SurveyVersion.objects.filter(
            pk__in=[s.live_version_id for s in surveys if s.live_version_id]
        )
    }
    found = []
    for survey in surveys:
        version = live.get(survey.live_version_id) or versions.get(survey.pk)
        if version is None:
            continue
        for question in iter_questions(version.definition):
            if question.get("type") == "rating":
                text = localized(question.get("text"), DEFAULT_LANGUAGE)
                found.append((f"{survey.pk}:{question['key']}"[:100], f"{survey.name}：{text}"))
    return found


def _metric_checked(touchpoint: Touchpoint, metric: str, key: str) -> str:
    if metric not in SCORED_METRICS:
        raise ValidationError(_("未知的指标。"))
    if metric != Metric.RATING:
        return ""
    if key not in dict(rating_questions(touchpoint)):
        raise ValidationError(_("该评分题不属于此触点的问卷，请从列表中选择。"))
    return key


def _snapshot(row: TouchpointMetric) -> dict:
    return {
        "touchpoint": row.touchpoint_id,
        "metric": row.metric,
        "key": row.key,
        "target": row.target,
        "weight": row.weight,
    }


@transaction.atomic
def touchpoint_metric_set(
    *, touchpoint: Touchpoint, metric: str, key: str = "", target: object, weight: object, by
) -> TouchpointMetric:
    """Choose a metric for a touchpoint, or change its target and weight if it is chosen."""
    actor_require_permission(by, "journey.manage")
    key = _metric_checked(touchpoint, metric, key)
    target_value = target_parse(target, metric=metric)
    weight_value = weight_parse(weight)
    row = TouchpointMetric.objects.filter(touchpoint=touchpoint, metric=metric, key=key).first()
    before = _snapshot(row) if row else None
    if row is None:
        row = TouchpointMetric(touchpoint=touchpoint, metric=metric, key=key, target=0, weight=1)
    row.target, row.weight = target_value, weight_value
    row.full_clean(exclude=["tenant"])
    row.save()
    audit_record(
        by=by, action="touchpoint_metric.set", target=row, before=before, after=_snapshot(row)
    )
    return row


@transaction.atomic
def touchpoint_metric_remove(*, touchpoint_metric: TouchpointMetric, by) -> None:
    actor_require_permission(by, "journey.manage")
    audit_record(
        by=by,
        action="touchpoint_metric.remove",
        target=touchpoint_metric,
        before=_snapshot(touchpoint_metric),
    )
    touchpoint_metric.delete()


@transaction.atomic
def org_unit_target_set(
    *, touchpoint_metric: TouchpointMetric, org_unit: OrgUnit, target: object, by
) -> OrgUnitMetricTarget:
    """Give an org unit (and the units below it) its own target for one touchpoint metric."""
    actor_require_permission(by, "journey.manage")
    value = target_parse(target, metric=touchpoint_metric.metric)
    row, created = OrgUnitMetricTarget.objects.get_or_create(
        touchpoint_metric=touchpoint_metric, org_unit=org_unit, defaults={"target": value}
    )
    before = None if created else {"target": row.target}
    row.target = value
    row.save()
    audit_record(
        by=by,
        action="org_unit_metric_target.set",
        target=row,
        before=before,
        after={"touchpoint_metric": touchpoint_metric.pk, "org_unit": org_unit.pk, "target": value},
    )
    return row


@transaction.atomic
def org_unit_target_remove(*, unit_target: OrgUnitMetricTarget, by) -> None:
    actor_require_permission(by, "journey.manage")
    audit_record(
        by=by,
        action="org_unit_metric_target.remove",
        target=unit_target,
        before={"org_unit": unit_target.org_unit_id, "target": unit_target.target},
    )
    unit_target.delete()


@transaction.atomic
def default_nps_target_set(*, tenant: Tenant, target: object, by) -> float:
    """The NPS target of touchpoints with no metric chosen."""
    actor_require_permission(by, "journey.manage")
    value = target_parse(target, metric=Metric.NPS)
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = (tenant.settings or {}).get(DEFAULT_NPS_TARGET_SETTING)
    tenant.settings = {**(tenant.settings or {}), DEFAULT_NPS_TARGET_SETTING: value}
    tenant.save(update_fields=["settings"])
    audit_record(
        by=by,
        action="tenant.default_nps_target",
        target=tenant,
        before={"target": before},
        after={"target": value},
    )
    return value
