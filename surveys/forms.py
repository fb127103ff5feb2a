"""Forms of the survey builder."""

from django import forms
from django.utils.translation import gettext_lazy as _

from journeys.models import Touchpoint

QUESTION_TYPE_CHOICES = [
    ("nps", _("NPS 推荐度（0-10）")),
    ("csat", _("CSAT 满意度（1-5）")),
    ("ces", _("CES 费力度（1-7）")),
    ("single_choice", _("单选题")),
    ("multiple_choice", _("多选题")),
    ("text", _("开放文本")),
]


class SurveyCreateForm(forms.Form):
    name = forms.CharField(label=_("问卷名称"), max_length=200)
    touchpoint = forms.ModelChoiceField(
        label=_("绑定触点"), queryset=Touchpoint.all_tenants.none(), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["touchpoint"].queryset = Touchpoint.objects.select_related("stage__journey")
        self.fields["touchpoint"].label_from_instance = lambda tp: (
            f"{tp.stage.journey.name} / {tp.stage.name} / {tp.name}"
        )


class QuestionAddForm(forms.Form):
    qtype = forms.ChoiceField(label=_("题型"), choices=QUESTION_TYPE_CHOICES)
    text_zh = forms.CharField(label=_("题目（中文）"), max_length=500)
    text_en = forms.CharField(label=_("题目（英文）"), max_length=500, required=False)
    options = forms.CharField(
        label=_("选项（每行一个，可写「中文|English」）"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
    )
    required = forms.BooleanField(label=_("必答"), required=False)

    def option_pairs(self) -> list[tuple[str, str]]:
        pairs = []
        for line in self.cleaned_data.get("options", "").splitlines():
            zh, _sep, en = line.partition("|")
            if zh.strip():
                pairs.append((zh.strip(), en.strip()))
        return pairs
