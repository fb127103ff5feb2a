"""Forms of the analytics pages: the text analytics' dictionary and filters, and the scheduled
reports."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from analytics.models import ReportSchedule, RiskFlag, Sentiment
from analytics.text_overview import DrillDown
from journeys.models import Journey, Touchpoint
from organizations.access import PERMISSIONS
from organizations.models import Membership, OrgUnit

SEPARATORS_HELP = _("用逗号、顿号、空格或换行分隔")


class AspectTermsForm(forms.Form):
    name = forms.CharField(
        label=_("方面"), max_length=40, widget=forms.TextInput(attrs={"list": "aspect-names"})
    )
    terms = forms.CharField(
        label=_("触发词"), widget=forms.Textarea(attrs={"rows": 2}), help_text=SEPARATORS_HELP
    )


class UserWordsForm(forms.Form):
    words = forms.CharField(
        label=_("自定义词"), widget=forms.Textarea(attrs={"rows": 2}), help_text=SEPARATORS_HELP
    )


class TopicKeywordsForm(forms.Form):
    name = forms.CharField(label=_("主题"), max_length=40)
    keywords = forms.CharField(
        label=_("关键词"), widget=forms.Textarea(attrs={"rows": 2}), help_text=SEPARATORS_HELP
    )


class SampleForm(forms.Form):
    sample = forms.CharField(
        label=_("试一试：输入一段客户反馈"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


PERIOD_CHOICES = [
    (7, _("近 7 天")),
    (30, _("近 30 天")),
    (90, _("近 90 天")),
    (180, _("近 180 天")),
    (365, _("近一年")),
]
DEFAULT_PERIOD = 90


class TextSource:
    SURVEY = "survey"
    EXTERNAL = "external"


SOURCE_CHOICES = [(TextSource.SURVEY, _("问卷反馈")), (TextSource.EXTERNAL, _("外部声音"))]


class ExternalPostsUploadForm(forms.Form):
    file = forms.FileField(
        label=_("文件（CSV 或 Excel .xlsx）"),
        help_text=_(
            "必需的列：source_id（编号）、text（内容）；可选：source（来源）、author（作者）、"
            "posted_at（发布时间）、url（链接）。CSV 请用 UTF-8 或 GBK 编码。"
        ),
    )
    source = forms.CharField(
        label=_("来源"),
        max_length=40,
        help_text=_("文件没有来源列时使用，如 黑猫投诉、App Store、微博"),
    )


class TextFilterForm(forms.Form):
    """The page's filters, and the drill-down its tables and charts link to (hidden)."""

    days = forms.TypedChoiceField(
        label=_("时间"), choices=PERIOD_CHOICES, coerce=int, required=False, initial=DEFAULT_PERIOD
    )
    source = forms.ChoiceField(
        label=_("来源"), choices=SOURCE_CHOICES, required=False, initial=TextSource.SURVEY
    )
    journey = forms.ModelChoiceField(
        label=_("旅程"), queryset=Journey.all_tenants.none(), required=False, empty_label=_("全部")
    )
    touchpoint = forms.ModelChoiceField(
        label=_("触点"),
        queryset=Touchpoint.all_tenants.none(),
        required=False,
        empty_label=_("全部"),
    )
    org_unit = forms.ModelChoiceField(
        label=_("组织"), queryset=OrgUnit.all_tenants.none(), required=False, empty_label=_("全部")
    )
    sentiment = forms.ChoiceField(
        choices=Sentiment.choices, required=False, widget=forms.HiddenInput
    )
    topic = forms.CharField(max_length=40, required=False, widget=forms.HiddenInput)
    aspect = forms.CharField(max_length=40, required=False, widget=forms.HiddenInput)
    polarity = forms.ChoiceField(
        choices=Sentiment.choices, required=False, widget=forms.HiddenInput
    )
    risk_flag = forms.ChoiceField(
        choices=RiskFlag.choices, required=False, widget=forms.HiddenInput
    )
    keyword = forms.CharField(max_length=40, required=False, widget=forms.HiddenInput)
    target = forms.CharField(max_length=100, required=False, widget=forms.HiddenInput)
    opinion = forms.CharField(max_length=100, required=False, widget=forms.HiddenInput)

    def __init__(self, data=None, *, scope_path: str = "", **kwargs) -> None:
        if data is not None and not data.get("days"):
            # A drill-down link without a period keeps showing the default one it used.
            data = data.copy()
            data["days"] = DEFAULT_PERIOD
        super().__init__(data, **kwargs)
        self.fields["journey"].queryset = Journey.objects.order_by("name")
        self.fields["touchpoint"].queryset = Touchpoint.objects.select_related(
            "stage__journey"
        ).order_by("stage__journey__name", "stage__position", "name")
        self.fields["touchpoint"].label_from_instance = lambda tp: (
            f"{tp.stage.journey.name} / {tp.name}"
        )
        # A member scoped to a region picks among the units of that region only.
        self.fields["org_unit"].queryset = OrgUnit.objects.filter(path__startswith=scope_path)
        self.fields["org_unit"].label_from_instance = lambda unit: "　" * unit.depth + unit.name

    def value(self, name: str):
        """The cleaned value of a filter; an invalid or absent one is not applied."""
        self.is_valid()  # cleans a bound form once; invalid fields stay out of cleaned_data
        return getattr(self, "cleaned_data", {}).get(name) or None

    @property
    def days_value(self) -> int:
        return self.value("days") or DEFAULT_PERIOD

    @property
    def source_value(self) -> str:
        return self.value("source") or TextSource.SURVEY

    @property
    def drill_down(self) -> DrillDown:
        return DrillDown(
            **{name: self.value(name) or "" for name in DrillDown.__dataclass_fields__}
        )


class ReportScheduleForm(forms.Form):
    """A scheduled report: the unit (inside the member's scope), how often, and to whom: chosen
    members, or each unit of a kind under the unit to its own members."""

    name = forms.CharField(label=_("名称"), max_length=200)
    frequency = forms.ChoiceField(label=_("频率"), choices=ReportSchedule.Frequency.choices)
    org_unit = forms.ModelChoiceField(
        label=_("组织单位"), queryset=OrgUnit.all_tenants.none(), required=False, empty_label=None
    )
    per_unit_kind = forms.ChoiceField(
        label=_("按单位分别发送"),
        choices=[("", _("不分别发送：一份报告发给所选成员")), *OrgUnit.Kind.choices],
        required=False,
        help_text=_(
            "选择一种单位（如网点），该单位下的每个此类单位各生成一份报告，发给范围正是该单位的成员。"
        ),
    )
    recipients = forms.ModelMultipleChoiceField(
        label=_("收件人"),
        queryset=Membership.all_tenants.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    is_active = forms.BooleanField(label=_("启用"), required=False, initial=True)
    filters = forms.CharField(widget=forms.HiddenInput, required=False, max_length=500)

    def __init__(self, *args, scope: OrgUnit | None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        units = OrgUnit.objects.filter(is_active=True).order_by("path")
        members = Membership.objects.filter(
            deactivated_at__isnull=True, role__in=PERMISSIONS["report.download"]
        ).select_related("user", "org_unit")
        if scope is not None:
            units = units.filter(path__startswith=scope.path)
            members = members.filter(org_unit__path__startswith=scope.path)
        else:
            self.fields["org_unit"].empty_label = _("全部（整个企业）")
        self.fields["org_unit"].queryset = units
        self.fields["org_unit"].label_from_instance = lambda unit: (
            "\u3000" * (unit.path.count("/") - 1) + unit.name
        )
        self.fields["recipients"].queryset = members.order_by("user__username")
        self.fields["recipients"].label_from_instance = lambda m: (
            f"{m.user.get_full_name() or m.user.username} · {m.get_role_display()}"
            f" · {m.org_unit.name if m.org_unit else _('全部')}"
        )
