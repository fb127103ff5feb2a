"""Customer journeys, their ordered stages and the touchpoints where customers meet the firm."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from organizations.tenancy import TenantOwnedModel


class Channel(models.TextChoices):
    BRANCH_COUNTER = "branch_counter", _("网点柜台")
    MOBILE_APP = "mobile_app", _("手机银行 App")
    WEB = "web", _("网站")
    CALL_CENTER = "call_center", _("客服热线")
    WECHAT = "wechat", _("微信")
    MINI_PROGRAM = "mini_program", _("小程序")
    EMAIL = "email", _("邮件")
    SMS = "sms", _("短信")
    STORE = "store", _("门店")


class KeyMoment(models.TextChoices):
    NONE = "none", _("普通")
    LOW = "low", _("低谷时刻")
    PEAK = "peak", _("峰值时刻")
    END = "end", _("终点时刻")


class Journey(TenantOwnedModel):
    name = models.CharField(_("名称"), max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set instead of deleting once responses point at the journey: off the map, data kept.
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"], name="journey_name_unique_per_tenant"
            )
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Stage(TenantOwnedModel):
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("名称"), max_length=200)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["tenant", "journey", "position"], name="stage_order")]
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Touchpoint(TenantOwnedModel):
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="touchpoints")
    name = models.CharField(_("名称"), max_length=200)
    code = models.SlugField(max_length=64)
    channel = models.CharField(max_length=32, choices=Channel.choices)
    key_moment = models.CharField(max_length=8, choices=KeyMoment.choices, default=KeyMoment.NONE)
    org_unit = models.ForeignKey(
        "organizations.OrgUnit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("该触点预警的默认负责单位（链接指定网点时以链接为准）"),
    )
    # Set instead of deleting once data points at it; its code stays taken, so events and
    # links that name it keep working.
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "code"], name="touchpoint_code_unique_per_tenant"
            )
        ]
        indexes = [models.Index(fields=["tenant", "stage"], name="touchpoint_stage")]
        ordering = ["stage__position", "id"]

    def __str__(self) -> str:
        return self.name
