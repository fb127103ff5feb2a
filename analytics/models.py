"""Derived scores of a response, kept apart so rescoring never touches what the customer said."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from organizations.models import OrgUnit
from organizations.tenancy import TenantOwnedModel


class NpsCategory(models.TextChoices):
    PROMOTER = "promoter", _("推荐者")
    PASSIVE = "passive", _("中立者")
    DETRACTOR = "detractor", _("贬损者")


class Sentiment(models.TextChoices):
    POSITIVE = "positive", _("正面")
    NEUTRAL = "neutral", _("中性")
    NEGATIVE = "negative", _("负面")


class RiskFlag(models.TextChoices):
    """Signs that a customer may escalate beyond us: worth a person's look before it happens."""

    REGULATOR = "regulator", _("监管投诉")
    MEDIA = "media", _("媒体曝光")
    LEGAL = "legal", _("法律行动")
    CHURN = "churn", _("流失/销户")


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
    # [{"aspect": "等待时间", "polarity": "negative", "score": 0.24, "clause": "排队太久了"}]
    aspects = models.JSONField(default=list, blank=True)
    # [{"flag": "regulator", "term": "银保监会"}]: the term found is the reason
    risk_flags = models.JSONField(default=list, blank=True)
    topics = models.JSONField(default=list, blank=True)  # names of the tenant's topics
    # [{"target": "柜员", "opinion": "态度差"}]: what is talked about and what is said of it
    relations = models.JSONField(default=list, blank=True)
    model_version = models.CharField(max_length=64)
    scored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "scored_at"], name="score_tenant_scored")]

    def __str__(self) -> str:
        return f"Score of response {self.response_id}"


class TextDictionary(TenantOwnedModel):
    """A tenant's additions to text analytics (aspects, user words, topics) as one versioned
    whole: `revision` counts the changes and goes into every score's model version, so scores
    made with an older dictionary can be found and redone."""

    revision = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="textdictionary_one_per_tenant")
        ]

    def __str__(self) -> str:
        return f"Text dictionary r{self.revision}"


class Aspect(TenantOwnedModel):
    """A tenant's own aspect, or more terms for the built-in aspect of the same name."""

    name = models.CharField(_("方面"), max_length=40)
    terms = models.JSONField(_("触发词"), default=list)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="aspect_name_unique_per_tenant")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserWord(TenantOwnedModel):
    """A word of the tenant's jieba user dictionary: never cut apart (大额存单, 薪享通)."""

    word = models.CharField(_("词语"), max_length=40)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "word"], name="userword_unique_per_tenant")
        ]
        ordering = ["word"]

    def __str__(self) -> str:
        return self.word


class Topic(TenantOwnedModel):
    """A topic of the tenant's taxonomy: a text is about it when it contains one of its
    keywords."""

    name = models.CharField(_("主题"), max_length=40)
    keywords = models.JSONField(_("关键词"), default=list)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="topic_name_unique_per_tenant")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TextKind(models.TextChoices):
    """What a rollup row or a mention counts."""

    SENTIMENT = "sentiment"  # key: the text's sentiment label; one per text
    TOPIC = "topic"  # key: topic name; label: the text's sentiment label
    UNCOVERED = "uncovered"  # a text no topic covers
    ASPECT = "aspect"  # key: aspect name; label: its polarity
    RISK = "risk"  # key: risk flag; label: the term that raised it
    AT_RISK = "at_risk"  # a text with at least one risk flag
    KEYWORD = "keyword"  # key: the keyword
    RELATION = "relation"  # key: what is talked about; label: what is said of it


class TextTerm(TenantOwnedModel):
    """What the text rollups count, numbered per tenant: a sentiment, a topic with a text's
    sentiment, an aspect with a polarity, a risk flag with its term, a keyword or a relation
    (target, opinion). Terms are only ever added: a rollup names them by id."""

    kind = models.CharField(max_length=16, choices=TextKind.choices)
    key = models.CharField(max_length=100, blank=True)
    label = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind", "key", "label"], name="textterm_unique_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} {self.label}"


class TextDaily(TenantOwnedModel):
    """Daily rollup of the scored texts of one day, touchpoint and org unit: how many texts
    (mentions, for aspects and risks) counted for each term, packed in one row (analytics/
    rollups.py TALLY: term id, count, and of sentiments and topics the sum of the texts'
    sentiment scores and how many had one; keywords apart, as KEYWORDS). A row per term
    would be one per keyword mention, four times the size of the responses at a bank's volume.

    Kept current by scoring and rebuilt from the scores on demand (analytics/rollups.py); the
    text analytics page sums these rows instead of reading every text. Touchpoint and org unit
    are plain ids with 0 for none, not foreign keys: a NULL would never match in the unique key.
    """

    day = models.DateField()  # in the tenant's time zone
    touchpoint_id = models.BigIntegerField(default=0)
    org_unit_id = models.BigIntegerField(default=0)
    tallies = models.BinaryField(default=b"")  # every kind of term but keywords
    keywords = models.BinaryField(default=b"")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day", "touchpoint_id", "org_unit_id"],
                name="textdaily_cell_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.touchpoint_id} {self.org_unit_id}"


class TextMention(TenantOwnedModel):
    """One aspect, topic, risk flag or keyword of a scored text, written with the score: finds
    the verbatims behind a chart cell with an index, which the score's JSON lists cannot give
    on SQLite."""

    score = models.ForeignKey(ResponseScore, on_delete=models.CASCADE, related_name="mentions")
    kind = models.CharField(max_length=16, choices=TextKind.choices)
    key = models.CharField(max_length=100)
    label = models.CharField(max_length=100, blank=True)  # an aspect's polarity

    class Meta:
        indexes = [models.Index(fields=["tenant", "kind", "key", "label"], name="textmention_key")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} of score {self.score_id}"


class TextThemes(TenantOwnedModel):
    """The themes last discovered among a tenant's recent texts that no topic covers, found on
    a worker (after a rescoring, and on a schedule) so that the text page only reads them.

    `themes` is a list of {"label", "terms", "members"}: the theme's name, its top words and
    the ids of the ResponseScores it groups, closest to the theme first. The page counts the
    members that fall in its period and the member's scope, never more than they may see."""

    computed_at = models.DateTimeField(default=timezone.now)
    days = models.PositiveSmallIntegerField()  # the texts searched are of the days before
    texts = models.PositiveIntegerField()  # how many texts were searched
    model_version = models.CharField(max_length=64)  # the analyzer that cut their words
    themes = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="textthemes_one_per_tenant")]

    def __str__(self) -> str:
        return f"{len(self.themes)} themes of {self.computed_at:%Y-%m-%d %H:%M}"


class Metric(models.TextChoices):
    """What a metric rollup row counts. n, total, good and bad per metric:

    responses: n scored responses.
    nps: n answers, total the sum of scores (0-10), good promoters, bad detractors.
    csat: n answers, total the sum (1-5), good 4-5, bad 1-2.
    ces: n answers, total the sum (1-7), good 6-7 (easy), bad 1-2.
    rating (key "<survey id>:<question key>"): n answers, total the sum of the answers put
        on 0-100 by the question's scale, good the top two points, bad the bottom two.
    text: n texts, good positive, bad negative.
    aspect (key the aspect): n negative mentions of it.
    tickets: n tickets opened for the responses.
    """

    RESPONSES = "responses"
    NPS = "nps"
    CSAT = "csat"
    CES = "ces"
    RATING = "rating"
    TEXT = "text"
    ASPECT = "aspect"
    TICKETS = "tickets"


class MetricDaily(TenantOwnedModel):
    """Daily rollup of the scored responses' metrics for the journey map and dashboards: one
    row per day (tenant's time zone), touchpoint (0: none), org-unit SUBTREE and metric.

    A response counts in the row of its own org unit and in the row of each of its ancestors,
    and in the rows of org_unit_id 0, the whole tenant (with the responses that have no unit):
    a map of a region or of the tenant reads the rows of that one unit, never its thousands of
    branches. Moving a unit changes its ancestors, so a move rebuilds the tenant's rows.
    """

    day = models.DateField()
    touchpoint_id = models.BigIntegerField(default=0)
    org_unit_id = models.BigIntegerField(default=0)
    metric = models.CharField(max_length=16, choices=Metric.choices)
    key = models.CharField(max_length=100, blank=True)
    n = models.IntegerField(default=0)
    total = models.FloatField(default=0.0)
    good = models.IntegerField(default=0)
    bad = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day", "touchpoint_id", "org_unit_id", "metric", "key"],
                name="metricdaily_cell_unique",
            )
        ]
        # The map's read: one subtree, a journey's touchpoints, a range of days, every column
        # it sums (index only). Touchpoint before day: each touchpoint's days are one range,
        # not a filter over every touchpoint's rows (bench.journey_map: 3x -> 8x the raw read).
        indexes = [
            models.Index(
                fields=[
                    "tenant",
                    "org_unit_id",
                    "touchpoint_id",
                    "day",
                    "metric",
                    "key",
                    "n",
                    "total",
                    "good",
                    "bad",
                ],
                name="metricdaily_scope_day",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.metric} {self.key}: {self.n}"


class TouchpointMetric(TenantOwnedModel):
    """A metric that counts in a touchpoint's CX index (docs/cx-index.md), with its tenant-wide
    target on the metric's own scale and its weight among the touchpoint's metrics.

    `metric` is one of analytics.cx_index.SCORED_METRICS; a rating question's `key` is
    "<survey id>:<question key>" as in the rollups, the other metrics have no key. A touchpoint
    without rows counts NPS against the tenant's default target."""

    touchpoint = models.ForeignKey(
        "journeys.Touchpoint", on_delete=models.CASCADE, related_name="metrics"
    )
    metric = models.CharField(_("指标"), max_length=16, choices=Metric.choices)
    key = models.CharField(max_length=100, blank=True)
    target = models.FloatField(_("目标值"))
    weight = models.FloatField(_("权重"), default=1.0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "touchpoint", "metric", "key"], name="touchpointmetric_unique"
            )
        ]
        ordering = ["touchpoint", "id"]

    def __str__(self) -> str:
        return f"{self.touchpoint_id} {self.metric} {self.key}".strip()


class OrgUnitMetricTarget(TenantOwnedModel):
    """An org unit's own target for one touchpoint metric: it overrides the tenant-wide target
    on the map of that unit and of the units below it (the nearest override wins)."""

    touchpoint_metric = models.ForeignKey(
        TouchpointMetric, on_delete=models.CASCADE, related_name="unit_targets"
    )
    org_unit = models.ForeignKey(
        "organizations.OrgUnit", on_delete=models.CASCADE, related_name="+"
    )
    target = models.FloatField(_("目标值"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "touchpoint_metric", "org_unit"],
                name="orgunitmetrictarget_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.touchpoint_metric_id} @ {self.org_unit_id}: {self.target}"


class ExternalPost(TenantOwnedModel):
    """A customer's voice from outside the surveys (舆情): a complaint platform's export, an app
    store review, a social post, uploaded or sent through the API, and its text analysis.

    One row per (tenant, source, source id): a post sent again with the same text is a
    duplicate, with another text a conflict, refused. `model_version` is empty until a worker
    has analysed it. The post has no touchpoint or org unit: it belongs to the whole tenant."""

    source = models.CharField(_("来源"), max_length=40)  # 黑猫投诉, App Store, 微博…
    source_id = models.CharField(_("来源编号"), max_length=128)
    text = models.TextField(_("内容"))
    author = models.CharField(_("作者"), max_length=100, blank=True)
    url = models.URLField(_("链接"), max_length=500, blank=True)
    posted_at = models.DateTimeField(_("发布时间"))
    received_at = models.DateTimeField(default=timezone.now)
    sentiment_label = models.CharField(max_length=16, choices=Sentiment.choices, blank=True)
    sentiment_score = models.FloatField(null=True, blank=True)
    keywords = models.JSONField(default=list, blank=True)
    aspects = models.JSONField(default=list, blank=True)
    risk_flags = models.JSONField(default=list, blank=True)
    topics = models.JSONField(default=list, blank=True)
    relations = models.JSONField(default=list, blank=True)
    model_version = models.CharField(max_length=64, blank=True)
    analyzed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "source", "source_id"], name="externalpost_unique_source_id"
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "posted_at"], name="externalpost_tenant_posted"),
            models.Index(fields=["tenant", "analyzed_at"], name="externalpost_tenant_analyzed"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.source_id}"


class MetricAlert(TenantOwnedModel):
    """A drop of an org unit's NPS, CSAT or CES (its subtree's, over all touchpoints or at
    one) in the recent window below the lower control limit of its own history
    (docs/metric-alerts.md), with the figures that raised it. Routed like a ticket: `owner` is
    the unit's manager at detection, or empty and the unit's queue (its members) sees it.

    One per (metric, unit, touchpoint, window end): a second run of the same day's detection
    finds it and adds nothing."""

    class Tested(models.TextChoices):
        """The metrics tested, and what their value is (analytics.metric_drops)."""

        NPS = "nps", "NPS"
        CSAT = "csat", _("满意率（CSAT）")
        CES = "ces", _("省力率（CES）")

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        ACKNOWLEDGED = "acknowledged", _("已确认")
        CLOSED = "closed", _("已关闭")

    org_unit = models.ForeignKey(
        "organizations.OrgUnit", on_delete=models.CASCADE, related_name="+"
    )
    # Empty: the unit's NPS over all its touchpoints.
    touchpoint = models.ForeignKey(
        "journeys.Touchpoint", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    metric = models.CharField(max_length=8, choices=Tested.choices, default=Tested.NPS)
    window_start = models.DateField()
    window_end = models.DateField()  # the last local day counted, inclusive
    answers = models.PositiveIntegerField()
    # The NPS, or for CSAT and CES the share of answers in the scale's top two points (%).
    value = models.FloatField()
    baseline = models.FloatField()
    lower_limit = models.FloatField()
    history_answers = models.PositiveIntegerField()
    # How much more the history's weeks vary than sampling alone explains (Laney's sigma_z,
    # at least 1): the limit is widened by it.
    dispersion = models.FloatField()
    # The weeks the chart shows, oldest first, the flagged window last:
    # [{"end": "2026-06-09", "answers": 64, "value": -10.0}]
    weeks = models.JSONField(default=list)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    raised_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "metric", "org_unit", "touchpoint", "window_end"],
                name="metricalert_once_per_window",
            ),
            # NULLs are distinct in a unique constraint: the unit-wide series needs its own.
            models.UniqueConstraint(
                fields=["tenant", "metric", "org_unit", "window_end"],
                condition=models.Q(touchpoint__isnull=True),
                name="metricalert_once_per_unit_window",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "raised_at"], name="metricalert_status"),
        ]
        ordering = ["-raised_at", "-id"]

    def __str__(self) -> str:
        where = f"{self.org_unit_id}/{self.touchpoint_id or '-'}"
        return f"{self.metric} drop of {where} to {self.window_end}"

    @property
    def scale_range(self) -> tuple[int, int]:
        """What the chart's value axis spans: NPS -100..100, a share 0..100 (a margin beside)."""
        return (-110, 110) if self.metric == self.Tested.NPS else (-5, 105)


def export_file_path(job: ExportJob, file_name: str) -> str:
    """Where a finished export is kept: one folder per tenant under MEDIA_ROOT/exports/."""
    return f"exports/{job.tenant_id}/{file_name}"


class ExportJob(TenantOwnedModel):
    """One export asked for by a member, written to a file by a worker (analytics/exports.py):
    the responses the dashboard's filters leave, or the PDF report of its view, which Chromium
    prints in seconds, away from the web request."""

    class Kind(models.TextChoices):
        RESPONSES = "responses", _("回答明细")
        REPORT = "report", _("仪表盘报告")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel"
        PDF = "pdf", "PDF"

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("导出中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")
        EXPIRED = "expired", _("已过期")  # the file was removed after EXPORT_KEEP_DAYS

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.RESPONSES)
    format = models.CharField(max_length=8, choices=Format.choices)
    # The dashboard's filter query string, with the window as explicit dates.
    filters = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    rows_done = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to=export_file_path, max_length=300, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Set when a worker takes the job and at each page it writes: a running job whose worker
    # died stops moving, and is taken again (analytics/exports.py, STALE_AFTER).
    progress_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "created_by", "created_at"], name="exportjob_tenant_by")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.format} ({self.status})"

    @property
    def is_running(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class ReportSchedule(TenantOwnedModel):
    """A saved view of the dashboard sent by email as a PDF and an Excel attachment, weekly or
    monthly, to chosen members or to the members of each unit of a kind under its unit
    (analytics/report_schedules.py)."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", _("每周")
        MONTHLY = "monthly", _("每月")

    name = models.CharField(_("名称"), max_length=200)
    frequency = models.CharField(
        _("频率"), max_length=8, choices=Frequency.choices, default=Frequency.WEEKLY
    )
    # The dashboard's filters other than the window and unit: each send reports its own period.
    filters = models.CharField(max_length=500, blank=True)
    org_unit = models.ForeignKey(
        "organizations.OrgUnit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("组织单位"),
    )
    # Blank: one report of org_unit to the chosen recipients. A kind (e.g. branch): one report
    # per active unit of that kind under org_unit, each to the members scoped to that unit.
    per_unit_kind = models.CharField(
        _("按单位分别发送"), max_length=16, choices=OrgUnit.Kind.choices, blank=True
    )
    recipients = models.ManyToManyField(
        "organizations.Membership", through="ReportRecipient", related_name="+", blank=True
    )
    is_active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "is_active"], name="reportschedule_tenant")]

    def __str__(self) -> str:
        return self.name


class ReportRecipient(TenantOwnedModel):
    """A member a schedule without per-unit sending mails its report to."""

    schedule = models.ForeignKey(ReportSchedule, on_delete=models.CASCADE)
    membership = models.ForeignKey(
        "organizations.Membership", on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "schedule", "membership"], name="reportrecipient_unique"
            )
        ]


class ReportDelivery(TenantOwnedModel):
    """The log of scheduled reports: one row per schedule, unit and period, written before the
    mail goes, so that a retry or a second beat never sends it twice."""

    class Status(models.TextChoices):
        SENDING = "sending", _("发送中")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("失败")
        SKIPPED = "skipped", _("无收件人")

    # Kept when the schedule is deleted: the log says what was sent.
    schedule = models.ForeignKey(
        ReportSchedule, null=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    schedule_name = models.CharField(max_length=200)
    org_unit = models.ForeignKey(
        "organizations.OrgUnit", null=True, on_delete=models.PROTECT, related_name="+"
    )
    period_start = models.DateField()
    period_end = models.DateField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.SENDING)
    recipients = models.JSONField(default=list)  # the addresses it went to
    attempts = models.PositiveSmallIntegerField(default=1)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(default=timezone.now)  # its last attempt began
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "schedule", "org_unit", "period_start"],
                condition=models.Q(org_unit__isnull=False),
                name="reportdelivery_once_per_unit",
            ),
            models.UniqueConstraint(
                fields=["tenant", "schedule", "period_start"],
                condition=models.Q(org_unit__isnull=True),
                name="reportdelivery_once",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "schedule", "created_at"], name="reportdelivery_log")
        ]

    def __str__(self) -> str:
        return f"{self.schedule_name} {self.period_start}–{self.period_end} ({self.status})"
