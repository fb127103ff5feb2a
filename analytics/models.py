"""Derived scores of a response, kept apart so rescoring never touches what the customer said."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cem.tenancy import TenantOwnedModel


class NpsCategory(models.TextChoices):
    PROMOTER = "promoter", _("推荐者")
    PASSIVE = "passive", _("中立者")
    DETRACTOR = "detractor", _("贬损者")


class Sentiment(models.TextChoices):
    POSITIVE = "positive", _("正面")
    NEUTRAL = "neutral", _("中性")
    NEGATIVE = "negative", _("负面")


class ResponseScore(TenantOwnedModel):
    """One per response: metrics and text analytics. "Unscored" means no row yet."""

    response = models.OneToOneField(
        "surveys.Response", on_delete=models.CASCADE, related_name="score"
    )
    nps = models.PositiveSmallIntegerField(null=True, blank=True)
    nps_category = models.CharField(max_length=16, choices=NpsCategory.choices, blank=True)
    csat = models.PositiveSmallIntegerField(null=True, blank=True)
    ces = models.PositiveSmallIntegerField(null=True, blank=True)
    verbatim = models.TextField(blank=True, help_text=_("被分析的文本"))
    sentiment_label = models.CharField(max_length=16, choices=Sentiment.choices, blank=True)
    sentiment_score = models.FloatField(null=True, blank=True)
    keywords = models.JSONField(default=list, blank=True)
    model_version = models.CharField(max_length=64)
    scored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "scored_at"], name="score_tenant_scored")]

    def __str__(self) -> str:
        return f"Score of response {self.response_id}"
