"""The platform core: tenants, org units, memberships with roles, API keys, the audit log and
the outbound-message log. The tables keep the names they were made with under the `cem` label."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from organizations.tenancy import TenantOwnedModel


class Tenant(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(_("名称"), max_length=200)
    time_zone = models.CharField(max_length=64, default="Asia/Shanghai")
    locale = models.CharField(max_length=16, default="zh-hans")
    settings = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "cem_tenant"

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", _("所有者")
    ADMIN = "admin", _("管理员")
    CX_MANAGER = "cx_manager", _("体验经理")
    AGENT = "agent", _("一线坐席")
    VIEWER = "viewer", _("只读")


class TicketAssignment(models.TextChoices):
    CLAIM = "claim", _("由坐席认领")
    ROUND_ROBIN = "round_robin", _("在岗坐席轮流分派")
    LEAST_LOADED = "least_loaded", _("分派给在办最少的在岗坐席")


class OrgUnit(TenantOwnedModel):
    """A node of the tenant's organisation tree (HQ > region > branch > team).

    `path` is a materialised path of zero-padded ids ("00000001/00000004/"), so a subtree is one
    indexed prefix query. Writes go through organizations.org_units.
    """

    class Kind(models.TextChoices):
        HQ = "hq", _("总部")
        REGION = "region", _("区域")
        BRANCH = "branch", _("网点/门店")
        TEAM = "team", _("团队")
        DEPARTMENT = "department", _("部门")

    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT)
    name = models.CharField(_("名称"), max_length=200)
    code = models.CharField(_("编码"), max_length=64)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.BRANCH)
    path = models.CharField(max_length=255, editable=False, default="")
    # A person of the tenant answerable for the unit (organizations.org_units checks membership).
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("负责人"),
    )
    # Deactivated units keep their data and history but leave every picker; a unit is deleted
    # only while nothing points at it.
    is_active = models.BooleanField(default=True)
    # How the unit's new tickets find a person: left for claiming, or given to one of its
    # on-duty agents in turn or to the one with the fewest open tickets.
    ticket_assignment = models.CharField(
        _("工单分派方式"),
        max_length=16,
        choices=TicketAssignment.choices,
        default=TicketAssignment.CLAIM,
    )

    class Meta:
        db_table = "cem_orgunit"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "code"], name="orgunit_code_unique_per_tenant"
            )
        ]
        indexes = [models.Index(fields=["tenant", "path"], name="orgunit_tenant_path")]
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count("/") - 1

    @property
    def tree_label(self) -> str:
        """The unit as a picker lists it: indented by depth, with its code."""
        return f"{'— ' * self.depth}{self.name} ({self.code})"

    @staticmethod
    def child_path(parent_path: str, pk: int) -> str:
        """The path of unit `pk` under a parent whose path is `parent_path` ("" for a root)."""
        return f"{parent_path}{pk:08d}/"


class Membership(TenantOwnedModel):
    """A user's role in one tenant, limited to an org-unit subtree (null: the whole tenant)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    org_unit = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(default=timezone.now)
    # Deactivated rather than deleted, so the audit log and ticket history keep their member.
    deactivated_at = models.DateTimeField(null=True, blank=True)
    # An agent off duty (leave, a shift's end) is passed over by automatic ticket assignment.
    on_duty = models.BooleanField(_("在岗"), default=True)

    class Meta:
        db_table = "cem_membership"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant_id} ({self.role})"

    @property
    def scope_path(self) -> str:
        """Materialised-path prefix of the subtree this member sees ("" = everything)."""
        return self.org_unit.path if self.org_unit_id else ""

    @property
    def is_active(self) -> bool:
        return self.deactivated_at is None


class MemberInvitation(TenantOwnedModel):
    """An invitation to join the tenant with a role and scope: a single-use link that expires.
    Only a SHA-256 of the link's random token is kept; the link itself goes to the invitee."""

    email = models.EmailField(_("邮箱"))
    role = models.CharField(max_length=16, choices=Role.choices)
    org_unit = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "email"], name="invitation_tenant_email")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} ({self.role})"

    def is_pending(self, *, now=None) -> bool:
        """Neither accepted nor revoked, and not yet expired."""
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > (now or timezone.now())
        )


class ApiKey(TenantOwnedModel):
    """A partner system's key. Only a SHA-256 of the secret is kept; the key is shown once."""

    name = models.CharField(_("名称"), max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "cem_apikey"
        indexes = [models.Index(fields=["tenant", "created_at"], name="apikey_tenant_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditEvent(TenantOwnedModel):
    """Append-only record of a state change that matters, by a person or an API key."""

    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "cem_auditevent"
        indexes = [models.Index(fields=["tenant", "at"], name="audit_tenant_at")]
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id}"


# Attempts that count as the delivery of their purpose: sent, or being sent (queued).
DELIVERED_OR_IN_FLIGHT = ("queued", "sent")


class OutboundMessage(TenantOwnedModel):
    """Delivery log of every message sent to a person outside (email, SMS, WeChat)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("失败")

    channel = models.CharField(max_length=16)
    recipient = models.CharField(max_length=254)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    purpose = models.CharField(max_length=64, blank=True)  # e.g. "invitation:42"
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "cem_outboundmessage"
        indexes = [
            models.Index(fields=["tenant", "created_at"], name="outbound_tenant_created"),
            models.Index(fields=["tenant", "purpose"], name="outbound_tenant_purpose"),
        ]
        constraints = [
            # A message is sent at most once for its purpose: one attempt sent or in flight.
            models.UniqueConstraint(
                fields=["tenant", "purpose"],
                condition=Q(status__in=DELIVERED_OR_IN_FLIGHT) & ~Q(purpose=""),
                name="outbound_one_delivery_per_purpose",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient} ({self.status})"


class OrgUnitImport(TenantOwnedModel):
    """One upload of the org-unit tree (CSV or .xlsx), run as a background job: the file is
    checked whole, then written in one transaction or not at all (org_unit_import.py)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        CHECKING = "checking", _("校验中")
        WRITING = "writing", _("写入中")
        DONE = "done", _("已完成")
        REJECTED = "rejected", _("有错误，未写入")
        FAILED = "failed", _("失败，未写入")

    file_name = models.CharField(max_length=200)
    # Kept in the database so any worker can read it; emptied once the job has run.
    content = models.BinaryField(default=b"")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_checked = models.PositiveIntegerField(default=0)
    units_created = models.PositiveIntegerField(default=0)
    units_updated = models.PositiveIntegerField(default=0)
    # Each problem: {"line": 12, "column": "parent_code", "reason": "..."}.
    problems = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "created_at"], name="orgunitimport_tenant_created")
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"

    @property
    def is_running(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.CHECKING, self.Status.WRITING)
