"""Improvement projects (问题分级 and 复盘): the fix of a recurring or strategic root cause, its
actions, the tickets, touchpoints, org units and text topics it is about."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from alerts.models import RootCause
from organizations.tenancy import TenantOwnedModel

Level = RootCause.Level


class ProjectStatus(models.TextChoices):
    PROPOSED = "proposed", _("待确认")
    OPEN = "open", _("进行中")
    DONE = "done", _("已完成")
    DROPPED = "dropped", _("已放弃")


ACTIVE_STATUSES = (ProjectStatus.PROPOSED, ProjectStatus.OPEN)


class ImprovementProject(TenantOwnedModel):
    """While a cause has a proposed or open project, no second one is proposed or opened for
    it (the partial unique constraint makes a recurring-cause sweep that runs twice harmless)."""

    class Origin(models.TextChoices):
        RECURRING = "recurring", _("复发原因自动提议")
        MANUAL = "manual", _("手动创建")

    title = models.CharField(_("标题"), max_length=200)
    root_cause = models.ForeignKey(
        RootCause, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    level = models.CharField(_("问题层级"), max_length=16, choices=Level.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=ProjectStatus.choices, default=ProjectStatus.PROPOSED
    )
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.MANUAL)
    description = models.TextField(_("说明"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The day the fix went live: the review compares the days before it with the days after.
    fix_date = models.DateField(_("上线日期"), null=True, blank=True)
    review_days_before = models.PositiveSmallIntegerField(_("复盘：上线前天数"), default=30)
    review_days_after = models.PositiveSmallIntegerField(_("复盘：上线后天数"), default=30)
    tickets = models.ManyToManyField("alerts.Ticket", through="ProjectTicket", related_name="+")
    touchpoints = models.ManyToManyField(
        "journeys.Touchpoint", through="ProjectTouchpoint", related_name="+"
    )
    org_units = models.ManyToManyField(
        "organizations.OrgUnit", through="ProjectOrgUnit", related_name="+"
    )
    topics = models.ManyToManyField("analytics.Topic", through="ProjectTopic", related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "root_cause"],
                condition=models.Q(status__in=["proposed", "open"]),
                name="improvement_one_active_per_cause",
            )
        ]
        indexes = [models.Index(fields=["tenant", "status", "created_at"], name="improvement_list")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class ProjectAction(TenantOwnedModel):
    project = models.ForeignKey(
        ImprovementProject, on_delete=models.CASCADE, related_name="actions"
    )
    description = models.CharField(_("行动"), max_length=500)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_date = models.DateField(_("截止日期"), null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "project"], name="projectaction_project")]
        ordering = ["due_date", "id"]

    def __str__(self) -> str:
        return self.description


class ProjectTicket(TenantOwnedModel):
    project = models.ForeignKey(ImprovementProject, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey("alerts.Ticket", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "project", "ticket"], name="projectticket_once"
            )
        ]
        indexes = [models.Index(fields=["tenant", "ticket"], name="projectticket_ticket")]


class ProjectTouchpoint(TenantOwnedModel):
    project = models.ForeignKey(ImprovementProject, on_delete=models.CASCADE, related_name="+")
    touchpoint = models.ForeignKey(
        "journeys.Touchpoint", on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "project", "touchpoint"], name="projecttouchpoint_once"
            )
        ]
        indexes = [models.Index(fields=["tenant", "touchpoint"], name="projecttouchpoint_tp")]


class ProjectOrgUnit(TenantOwnedModel):
    project = models.ForeignKey(ImprovementProject, on_delete=models.CASCADE, related_name="+")
    org_unit = models.ForeignKey(
        "organizations.OrgUnit", on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "project", "org_unit"], name="projectorgunit_once"
            )
        ]
        indexes = [models.Index(fields=["tenant", "org_unit"], name="projectorgunit_unit")]


class ProjectTopic(TenantOwnedModel):
    project = models.ForeignKey(ImprovementProject, on_delete=models.CASCADE, related_name="+")
    topic = models.ForeignKey("analytics.Topic", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "project", "topic"], name="projecttopic_once")
        ]
        indexes = [models.Index(fields=["tenant", "topic"], name="projecttopic_topic")]
