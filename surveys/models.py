"""Surveys, their immutable published versions, distribution links and the responses."""

from __future__ import annotations

import re
import secrets

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from organizations.tenancy import TenantOwnedModel
from organizations.validators import datetime_in_service_range

RESPONSE_LIMIT_RANGE = [MinValueValidator(1), MaxValueValidator(10_000_000)]
TRIGGER_DELAY_MAX_MINUTES = 60 * 24 * 90  # an invitation three months after the event at most


class Survey(TenantOwnedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")
        CLOSED = "closed", _("已关闭")

    name = models.CharField(_("名称"), max_length=200)
    touchpoint = models.ForeignKey(
        "journeys.Touchpoint",
        null=True,
        blank=True,
        on_delete=models.PROTECT,  # a touchpoint with surveys is archived, not deleted
        related_name="surveys",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    live_version = models.ForeignKey(
        "surveys.SurveyVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    opens_at = models.DateTimeField(null=True, blank=True, validators=[datetime_in_service_range])
    closes_at = models.DateTimeField(null=True, blank=True, validators=[datetime_in_service_range])
    response_limit = models.PositiveIntegerField(
        validators=RESPONSE_LIMIT_RANGE,
        null=True,
        blank=True,
        help_text=_("问卷回收上限（留空为不限）"),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "status"], name="survey_tenant_status")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class SurveyVersion(TenantOwnedModel):
    """One definition of a survey (see surveys/definition.py). Frozen once published."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "survey", "number"], name="surveyversion_number_unique"
            )
        ]
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.survey_id} v{self.number}"

    @property
    def is_frozen(self) -> bool:
        return self.published_at is not None


LINK_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what new_link_token makes, at most the column


def new_link_token() -> str:
    return secrets.token_urlsafe(16)


class Link(TenantOwnedModel):
    """A way into a survey; it carries the touchpoint and org unit its responses belong to."""

    class Kind(models.TextChoices):
        ANONYMOUS = "anonymous", _("匿名链接")
        QR = "qr", _("二维码")
        PERSONAL = "personal", _("个人邀请")
        EMBED = "embed", _("嵌入")

    token = models.CharField(max_length=64, unique=True, default=new_link_token)
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="links")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ANONYMOUS)
    name = models.CharField(max_length=200, blank=True)
    touchpoint = models.ForeignKey(
        "journeys.Touchpoint", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    org_unit = models.ForeignKey(
        "organizations.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hidden_fields = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, validators=[datetime_in_service_range])
    response_limit = models.PositiveIntegerField(
        validators=RESPONSE_LIMIT_RANGE,
        null=True,
        blank=True,
        help_text=_("该链接（如某网点）的回收上限"),
    )
    one_response_per_device = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "survey"], name="link_tenant_survey")]
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.name or self.token


class Response(TenantOwnedModel):
    """What one respondent answered. Never edited by staff; derived scores live in analytics."""

    class Status(models.TextChoices):
        PARTIAL = "partial", _("未完成")
        COMPLETE = "complete", _("已完成")

    class Source(models.TextChoices):
        LINK = "link", _("问卷链接")
        API = "api", _("API")
        IMPORT = "import", _("导入")

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    version = models.ForeignKey(SurveyVersion, on_delete=models.PROTECT, related_name="+")
    link = models.ForeignKey(
        Link, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    touchpoint = models.ForeignKey(
        "journeys.Touchpoint", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    org_unit = models.ForeignKey(
        "organizations.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="responses",
    )
    external_customer_id = models.CharField(max_length=128, blank=True)
    answers = models.JSONField(default=dict)
    extra = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=16, default="zh-hans")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COMPLETE)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.LINK)
    # The partner's idempotency key (API): a retry with the same body stores one response.
    client_submission_id = models.CharField(max_length=64, blank=True)
    # A digest of what was submitted under client_submission_id: a replay that differs is
    # refused rather than answered with the first response.
    submission_digest = models.CharField(max_length=64, blank=True)
    # The respondent's key to resume a partial response (respondent pages only; issued by
    # the server, never chosen by the client, and apart from the partners' ids).
    resume_key = models.CharField(max_length=64, blank=True)
    # Progress of a partial response through a multi-page survey: pages passed, page shown.
    page_path = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)  # set when complete
    received_at = models.DateTimeField(default=timezone.now, editable=False)
    # Moves on every change a partner's sync must see: each save, and each scoring (which
    # sets it explicitly: scores and tickets live in other tables).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "client_submission_id"],
                condition=~models.Q(client_submission_id=""),
                name="response_submission_unique_per_tenant",
            ),
            models.UniqueConstraint(
                fields=["tenant", "resume_key"],
                condition=~models.Q(resume_key=""),
                name="response_resume_key_unique_per_tenant",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "submitted_at"], name="response_tenant_submitted"),
            models.Index(
                fields=["tenant", "survey", "submitted_at"], name="response_survey_submitted"
            ),
            models.Index(
                fields=["tenant", "org_unit", "submitted_at"], name="response_unit_submitted"
            ),
            # The sweeper looks across tenants for recent responses without a score.
            models.Index(fields=["received_at"], name="response_received"),
            # A partner's sync pages through changes in this order (GET /api/v1/responses/).
            models.Index(fields=["tenant", "updated_at", "id"], name="response_tenant_updated"),
        ]

    def __str__(self) -> str:
        return f"Response {self.pk}"


class Channel(models.TextChoices):
    EMAIL = "email", _("邮件")
    SMS = "sms", _("短信")
    WECHAT = "wechat", _("微信模板消息")


class Trigger(TenantOwnedModel):
    """Invite a customer to `survey` when an event of `event_type` happens at a touchpoint."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="triggers")
    event_type = models.CharField(max_length=64)
    touchpoint = models.ForeignKey(
        "journeys.Touchpoint", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    conditions = models.JSONField(default=dict, blank=True)
    delay_minutes = models.PositiveIntegerField(
        default=0, validators=[MaxValueValidator(TRIGGER_DELAY_MAX_MINUTES)]
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.SMS)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "event_type", "is_active"], name="trigger_event_type")
        ]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.survey_id}"


class Invitation(TenantOwnedModel):
    """A personal invitation to one customer, from scheduling to completion or suppression."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("待发送")
        SENT = "sent", _("已发送")
        SUPPRESSED = "suppressed", _("已拦截")
        FAILED = "failed", _("发送失败")
        COMPLETED = "completed", _("已完成")

    class Suppression(models.TextChoices):
        OPTED_OUT = "opted_out", _("客户已退订")
        FREQUENCY = "frequency", _("触达频率限制")
        NO_CONTACT = "no_contact", _("缺少联系方式")
        EXPIRED = "expired", _("已过期")
        SURVEY_CLOSED = "survey_closed", _("问卷未开放")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="invitations"
    )
    link = models.OneToOneField(
        Link, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitation"
    )
    trigger = models.ForeignKey(
        Trigger, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    event_id = models.CharField(max_length=128, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    touchpoint = models.ForeignKey(
        "journeys.Touchpoint", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    org_unit = models.ForeignKey(
        "organizations.OrgUnit", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    suppressed_reason = models.CharField(max_length=16, choices=Suppression.choices, blank=True)
    scheduled_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When the provider accepted it for delivery (a provider's delivery receipt, once one is
    # wired, moves this to the handset's receipt time).
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "status", "scheduled_at"], name="invitation_due"),
            models.Index(fields=["tenant", "customer", "sent_at"], name="invitation_customer_sent"),
            models.Index(
                fields=["tenant", "survey", "created_at"], name="invitation_survey_created"
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation {self.pk} ({self.status})"
