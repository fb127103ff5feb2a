"""Alert rules, the tickets they open, their history, and the tenant's root-cause taxonomy."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from organizations.tenancy import TenantOwnedModel


class Priority(models.TextChoices):
    """In rising order: a ticket takes the highest of the reasons it was opened for."""

    LOW = "low", _("低")
    NORMAL = "normal", _("中")
    HIGH = "high", _("高")
    URGENT = "urgent", _("紧急")


PRIORITY_RANK = {value: rank for rank, value in enumerate(Priority.values)}


class AlertRule(TenantOwnedModel):
    """When a scored response matches `conditions` (see alerts/rules.py), a ticket is opened."""

    name = models.CharField(_("名称"), max_length=200)
    conditions = models.JSONField()
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    sla_hours = models.PositiveIntegerField(default=24)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "is_active"], name="alertrule_tenant_active")]
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class RootCause(TenantOwnedModel):
    class Level(models.TextChoices):
        INDIVIDUAL = "individual", _("个案补救")
        PROCESS = "process", _("流程改进")
        STRATEGIC = "strategic", _("战略改进")

    name = models.CharField(_("名称"), max_length=200)
    level = models.CharField(max_length=16, choices=Level.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT)
    # A cause tickets point at is deactivated instead of deleted: no longer offered for new
    # resolutions, still shown on the tickets that recorded it.
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"], name="rootcause_name_unique_per_tenant"
            )
        ]
        ordering = ["level", "name"]

    def __str__(self) -> str:
        return self.name


class TicketStatus(models.TextChoices):
    OPEN = "open", _("待处理")
    IN_PROGRESS = "in_progress", _("处理中")
    WAITING_CUSTOMER = "waiting_customer", _("等待客户")
    RESOLVED = "resolved", _("已解决")
    CLOSED = "closed", _("已关闭")
    REOPENED = "reopened", _("已重开")


OPEN_STATUSES = (
    TicketStatus.OPEN,
    TicketStatus.IN_PROGRESS,
    TicketStatus.WAITING_CUSTOMER,
    TicketStatus.REOPENED,
)


class Ticket(TenantOwnedModel):
    """One per response: every rule the response matches (now or after a rescore) is listed
    on it through TicketRule, and a risk signal opens it even when no rule matches.

    A ticket of an external voice (舆情, analytics.ExternalPost) has the post instead of a
    response, one per post the same way: exactly one of the two is set."""

    number = models.PositiveIntegerField()
    response = models.ForeignKey(
        "surveys.Response", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    external_post = models.ForeignKey(
        "analytics.ExternalPost",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    rules = models.ManyToManyField(AlertRule, through="TicketRule", related_name="tickets")
    org_unit = models.ForeignKey(
        "organizations.OrgUnit", null=True, on_delete=models.PROTECT, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=20, choices=TicketStatus.choices, default=TicketStatus.OPEN
    )
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    # Service levels in the tenant's working time (alerts/sla.py). `sla_due_at` is when the
    # ticket should be resolved; the targets (working minutes) are kept to tell near breach.
    # Tickets opened before working-time SLAs have no first-response due time nor targets.
    sla_due_at = models.DateTimeField()
    sla_minutes = models.PositiveIntegerField(null=True, blank=True)
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    # While the ticket waits on the customer: since when, and the working minutes it had left.
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    sla_left_minutes = models.PositiveIntegerField(null=True, blank=True)
    # Escalation up the org tree (alerts/escalation.py): the steps taken so far, when the last
    # was, and when the sweep should look at the ticket next: its next step's due time, or
    # sooner when its SLA moved (it reckons the step again then); null when no step is left.
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalation_check_at = models.DateTimeField(null=True, blank=True)
    # When the assignee was told the resolution SLA is near breach (once per resolution clock).
    near_breach_warned_at = models.DateTimeField(null=True, blank=True)
    # When the sweep escalated the ticket because nobody had responded by its first-response
    # due time (once per ticket: a first response is never due again).
    first_response_escalated_at = models.DateTimeField(null=True, blank=True)
    root_cause = models.ForeignKey(RootCause, null=True, blank=True, on_delete=models.PROTECT)
    resolution = models.TextField(blank=True)
    # Closed as a duplicate of another ticket of the same complaint (a bulk action of the queue).
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates"
    )
    # The follow-up survey the customer was invited to at closing: at most one per ticket.
    follow_up_invitation = models.OneToOneField(
        "surveys.Invitation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="ticket_number_unique"),
            models.UniqueConstraint(fields=["tenant", "response"], name="ticket_one_per_response"),
            models.UniqueConstraint(
                fields=["tenant", "external_post"], name="ticket_one_per_external_post"
            ),
            models.CheckConstraint(
                condition=models.Q(response__isnull=False, external_post__isnull=True)
                | models.Q(response__isnull=True, external_post__isnull=False),
                name="ticket_response_or_external_post",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "sla_due_at"], name="ticket_queue"),
            # The queue's open tickets, most urgent first: a page read without sorting them all.
            models.Index(
                fields=["tenant", "sla_due_at", "number"],
                name="ticket_open_queue",
                condition=models.Q(status__in=OPEN_STATUSES),
            ),
            models.Index(fields=["tenant", "org_unit", "status"], name="ticket_unit_status"),
            # A partner's sync pages through changes in this order (GET /api/v1/tickets/).
            models.Index(fields=["tenant", "updated_at", "id"], name="ticket_tenant_updated"),
            # The managers' analytics and exports read the tickets opened in a period.
            models.Index(fields=["tenant", "created_at"], name="ticket_tenant_created"),
            models.Index(
                fields=["tenant", "escalation_check_at"],
                name="ticket_escalation_check",
                condition=models.Q(escalation_check_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number}"

    @property
    def is_overdue(self) -> bool:
        """Past its resolution due time and open, its clock running (not waiting on the
        customer)."""
        return (
            self.status in OPEN_STATUSES
            and self.sla_paused_at is None
            and self.sla_due_at < timezone.now()
        )


class TicketRule(TenantOwnedModel):
    """A rule a ticket's response matched, and when: at the opening, or later (a rescore, a
    rule created afterwards), when it joined the ticket."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="matches")
    rule = models.ForeignKey(AlertRule, on_delete=models.PROTECT, related_name="+")
    matched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "ticket", "rule"], name="ticketrule_once_per_ticket"
            )
        ]
        indexes = [models.Index(fields=["tenant", "rule"], name="ticketrule_rule")]
        ordering = ["matched_at", "id"]

    def __str__(self) -> str:
        return f"{self.rule_id} on {self.ticket_id}"


class TicketEvent(TenantOwnedModel):
    """Append-only history of a ticket: who did what, when."""

    class Kind(models.TextChoices):
        CREATED = "created", _("创建")
        CLAIMED = "claimed", _("认领")
        NOTE = "note", _("跟进记录")
        STATUS = "status", _("状态变更")
        ESCALATED = "escalated", _("升级")
        REOPENED = "reopened", _("重开")
        MATCHED = "matched", _("新增命中")
        MERGED = "merged", _("合并")
        REASSIGNED = "reassigned", _("改派")
        ASSIGNED = "assigned", _("自动分派")
        SLA_PAUSED = "sla_paused", _("SLA 计时暂停")
        SLA_RESUMED = "sla_resumed", _("SLA 计时恢复")
        CONTACT = "contact", _("联系客户")
        RECOVERY = "recovery", _("补救措施")
        FOLLOW_UP = "follow_up", _("回访问卷")
        DUPLICATE = "duplicate", _("重复工单关闭")
        CUSTOMER_REPLY = "customer_reply", _("客户回复")
        NEAR_BREACH = "near_breach", _("即将超时")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    note = models.TextField(blank=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_api_key = models.ForeignKey(
        "organizations.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The person an escalation reached (the manager told about the ticket).
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "ticket", "at"], name="ticketevent_history"),
            models.Index(
                fields=["tenant", "to_user", "at"],
                name="ticketevent_to_user",
                condition=models.Q(to_user__isnull=False),
            ),
        ]
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.ticket_id}"

    @property
    def to_status_label(self) -> str:
        return TicketStatus(self.to_status).label if self.to_status else ""


class ContactChannel(models.TextChoices):
    CALL = "call", _("电话")
    VISIT = "visit", _("拜访")
    MESSAGE = "message", _("消息")


class ContactOutcome(models.TextChoices):
    REACHED = "reached", _("已联系上")
    NO_ANSWER = "no_answer", _("未联系上")
    ACCEPTED = "accepted", _("客户接受处理方案")
    DECLINED = "declined", _("客户仍不满意")
    CALLBACK = "callback", _("约定再次联系")


class TicketContact(TenantOwnedModel):
    """A call, visit or message to the ticket's customer and how it went; its `contact` event
    puts it in the ticket's history."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="contacts")
    event = models.OneToOneField(TicketEvent, on_delete=models.CASCADE, related_name="contact")
    channel = models.CharField(max_length=16, choices=ContactChannel.choices)
    outcome = models.CharField(max_length=16, choices=ContactOutcome.choices)
    note = models.TextField(blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "ticket", "at"], name="ticketcontact_ticket")]
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.channel} on {self.ticket_id}"


class RecoveryKind(models.TextChoices):
    FEE_WAIVER = "fee_waiver", _("费用减免")
    GIFT = "gift", _("礼品")
    APOLOGY = "apology", _("致歉")
    OTHER = "other", _("其他")


RECOVERY_COST_MAX = Decimal("99999999.99")  # what max_digits=10, decimal_places=2 holds


class TicketRecovery(TenantOwnedModel):
    """A recovery action for the ticket's customer (a fee waived, a gift, an apology) and what
    it cost, in yuan; its `recovery` event puts it in the ticket's history."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="recoveries")
    event = models.OneToOneField(TicketEvent, on_delete=models.CASCADE, related_name="recovery")
    kind = models.CharField(max_length=16, choices=RecoveryKind.choices)
    cost = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default="CNY")
    note = models.TextField(blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(cost__gte=0), name="ticketrecovery_cost_not_negative"
            )
        ]
        indexes = [models.Index(fields=["tenant", "ticket", "at"], name="ticketrecovery_ticket")]
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.cost} {self.currency} on {self.ticket_id}"
