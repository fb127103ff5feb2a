"""Forms of the survey builder, and the parsing of its free-form fields."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from customers.models import ContactPolicy
from journeys.models import Touchpoint
from organizations.validators import datetime_in_service_range
from surveys.definition import localized
from surveys.models import RESPONSE_LIMIT_RANGE

QUESTION_TYPE_CHOICES = [
    ("nps", _("NPS 推荐度（0-10）")),
    ("csat", _("CSAT 满意度（1-5）")),
    ("ces", _("CES 费力度（1-7）")),
    ("rating", _("评分量表")),
    ("single_choice", _("单选题")),
    ("multiple_choice", _("多选题")),
    ("dropdown", _("下拉选择")),
    ("matrix", _("矩阵量表")),
    ("short_text", _("单行文本")),
    ("text", _("多行文本")),
    ("number", _("数字")),
    ("date", _("日期")),
    ("contact", _("联系方式（需客户同意）")),
]
CONDITION_OPERATORS = [
    ("eq", "="),
    ("ne", "≠"),
    ("lt", "<"),
    ("lte", "≤"),
    ("gt", ">"),
    ("gte", "≥"),
    ("in", _("属于（逗号分隔）")),
    ("contains", _("包含")),
    ("answered", _("已回答")),
    ("not_answered", _("未回答")),
]


class SurveyCreateForm(forms.Form):
    name = forms.CharField(label=_("问卷名称"), max_length=200)
    touchpoint = forms.ModelChoiceField(
        label=_("绑定触点"), queryset=Touchpoint.all_tenants.none(), required=False
    )
    template = forms.ChoiceField(label=_("从模板创建"), required=False)

    def __init__(self, *args, templates: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["touchpoint"].queryset = Touchpoint.objects.filter(
            archived_at__isnull=True, stage__journey__archived_at__isnull=True
        ).select_related("stage__journey")
        self.fields["touchpoint"].label_from_instance = lambda tp: (
            f"{tp.stage.journey.name} / {tp.stage.name} / {tp.name}"
        )
        self.fields["template"].choices = [("", _("空白问卷")), *templates]


class SurveyWindowForm(forms.Form):
    opens_at = forms.DateTimeField(
        label=_("开始回收"), required=False, validators=[datetime_in_service_range]
    )
    closes_at = forms.DateTimeField(
        label=_("停止回收"), required=False, validators=[datetime_in_service_range]
    )
    response_limit = forms.IntegerField(
        label=_("回收上限"), required=False, validators=RESPONSE_LIMIT_RANGE
    )

    def clean(self):
        cleaned = super().clean()
        opens, closes = cleaned.get("opens_at"), cleaned.get("closes_at")
        if opens and closes and closes <= opens:
            raise forms.ValidationError(_("停止时间须晚于开始时间。"))
        return cleaned


class LinkSettingsForm(forms.Form):
    response_limit = forms.IntegerField(
        label=_("回收上限"), required=False, validators=RESPONSE_LIMIT_RANGE
    )
    expires_at = forms.DateTimeField(
        label=_("过期时间"), required=False, validators=[datetime_in_service_range]
    )
    one_response_per_device = forms.BooleanField(required=False)


def form_error_text(form: forms.Form) -> str:
    """All of a form's errors in one line, for a message above the page."""
    return " ".join(
        f"{form.fields[name].label}：{error}" if name in form.fields else str(error)
        for name, errors in form.errors.items()
        for error in errors
    )


class QuestionAddForm(forms.Form):
    qtype = forms.ChoiceField(label=_("题型"), choices=QUESTION_TYPE_CHOICES)
    page = forms.ChoiceField(label=_("所在页"), required=False)
    text_zh = forms.CharField(label=_("题目（中文）"), max_length=500)
    text_en = forms.CharField(label=_("题目（英文）"), max_length=500, required=False)
    options = forms.CharField(
        label=_("选项（每行一个，可写「中文|English」）"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
    )
    required = forms.BooleanField(label=_("必答"), required=False)

    def __init__(self, *args, pages: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["page"].choices = [(key, key) for key in pages]

    def option_pairs(self) -> list[tuple[str, str]]:
        pairs = []
        for line in self.cleaned_data.get("options", "").splitlines():
            zh, _sep, en = line.partition("|")
            if zh.strip():
                pairs.append((zh.strip(), en.strip()))
        return pairs


def options_to_text(options: list[dict]) -> str:
    """Options as the builder's textarea shows them: "key=中文|English", one per line."""
    return "\n".join(
        f"{option['key']}={localized(option.get('text'), 'zh-hans')}"
        + (f"|{option['text']['en']}" if option.get("text", {}).get("en") else "")
        for option in options
    )


def options_from_text(text: str, *, prefix: str = "o") -> list[dict]:
    """Parse the textarea back. A line may name its key ("o2=网点|Branch") so answers stored
    under that key keep their meaning; lines without one get the next free key."""
    parsed: list[tuple[str, str, str]] = []
    for line in text.splitlines():
        key, sep, label = line.partition("=")
        if not sep:
            key, label = "", line
        zh, _sep, en = label.partition("|")
        if zh.strip():
            parsed.append((key.strip(), zh.strip(), en.strip()))
    taken = {key for key, _zh, _en in parsed if key}
    counter = 1
    options = []
    for key, zh, en in parsed:
        if not key:
            while f"{prefix}{counter}" in taken:
                counter += 1
            key = f"{prefix}{counter}"
            taken.add(key)
        options.append({"key": key, "text": {"zh-hans": zh, **({"en": en} if en else {})}})
    return options


def _number(value: str) -> int | float | None:
    value = (value or "").strip()
    if not value:
        return None
    number = float(value)
    return int(number) if number.is_integer() else number


def condition_from_post(post, prefix: str) -> dict | None:
    """One condition leaf from the fields <prefix>_question/_op/_value; None when left empty."""
    question, op = post.get(f"{prefix}_question", ""), post.get(f"{prefix}_op", "")
    if not question or not op:
        return None
    condition: dict[str, Any] = {"question": question, "op": op}
    if op in ("answered", "not_answered"):
        return condition
    raw = post.get(f"{prefix}_value", "").strip()
    if op == "in":
        condition["value"] = [number_or_text(item) for item in raw.split(",") if item.strip()]
    else:
        condition["value"] = number_or_text(raw)
    return condition


def number_or_text(raw: str) -> int | float | str:
    try:
        return _number(raw) if raw.strip() else raw
    except ValueError:
        return raw.strip()


def question_changes_from_post(question: dict, post) -> dict[str, Any]:
    """The edits the builder's question form submits, as changes for builder.question_update."""
    changes: dict[str, Any] = {
        "text": {"zh-hans": post.get("text_zh", "").strip(), "en": post.get("text_en", "").strip()},
        "help": {"zh-hans": post.get("help_zh", "").strip(), "en": post.get("help_en", "").strip()},
        "required": post.get("required") == "on",
        "display": condition_from_post(post, "show_if"),
    }
    changes["text"] = {lang: text for lang, text in changes["text"].items() if text}
    changes["help"] = {lang: text for lang, text in changes["help"].items() if text}
    for name in ("options", "rows"):
        if name in post:
            changes[name] = options_from_text(post[name], prefix="r" if name == "rows" else "o")
    for name in ("other", "randomize", "integer"):
        if f"has_{name}" in post:
            changes[name] = post.get(name) == "on"
    for name in ("min", "max", "min_length", "max_length", "min_choices", "max_choices"):
        if name in post:
            changes[name] = (
                post[name].strip() if question["type"] == "date" else _number(post[name])
            )
    for name in ("format", "style"):
        if name in post:
            changes[name] = post[name]
    for name in ("low_label", "high_label", "consent_text"):
        if f"{name}_zh" in post:
            changes[name] = {
                lang: post.get(f"{name}_{suffix}", "").strip()
                for lang, suffix in (("zh-hans", "zh"), ("en", "en"))
                if post.get(f"{name}_{suffix}", "").strip()
            }
    return changes


class ContactPolicyForm(forms.ModelForm):
    class Meta:
        model = ContactPolicy
        fields = [
            "min_days_between_invitations",
            "quiet_hours_start",
            "quiet_hours_end",
            "max_reminders",
            "reminder_after_hours",
            "invitation_valid_days",
        ]
        labels = {
            "min_days_between_invitations": _("同一客户两次邀请至少间隔（天）"),
            "quiet_hours_start": _("免打扰开始（时）"),
            "quiet_hours_end": _("免打扰结束（时）"),
            "max_reminders": _("最多提醒次数"),
            "reminder_after_hours": _("未完成多少小时后提醒"),
            "invitation_valid_days": _("邀请有效期（天）"),
        }
        help_texts = {
            "quiet_hours_start": _("0 到 23 之间的整点"),
            "quiet_hours_end": _("0 到 23 之间的整点"),
        }

    def clean(self):
        cleaned = super().clean()
        for name in ("quiet_hours_start", "quiet_hours_end"):
            if cleaned.get(name) is not None and not 0 <= cleaned[name] <= 23:
                self.add_error(name, _("请填写 0 到 23 之间的小时。"))
        return cleaned


def trigger_conditions_from_post(post) -> dict:
    """The trigger form's optional property condition and customer tag, as conditions."""
    leaves: list[dict[str, Any]] = []
    if post.get("property", "").strip() and post.get("op"):
        value = number_or_text(post.get("value", ""))
        leaves.append({"property": post["property"].strip(), "op": post["op"], "value": value})
    if post.get("tag", "").strip():
        leaves.append({"customer": "tags", "op": "contains", "value": post["tag"].strip()})
    return {"all": leaves} if leaves else {}


MOBILE = re.compile(r"^1[3-9]\d{9}$")


def people_from_text(text: str, *, limit: int = 1000) -> list[dict[str, str]]:
    """Customers pasted one per line as "客户编号,姓名,手机,邮箱" (name, mobile, email optional).
    Every bad line is reported with its number; nothing is invited until all lines are good."""
    people, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.replace("，", ",").split(",")]
        parts += [""] * (4 - len(parts))
        customer_id, name, mobile, email = parts[:4]
        if not customer_id:
            problems.append(_("第 %(n)s 行缺少客户编号") % {"n": number})
        elif mobile and not MOBILE.match(mobile):
            problems.append(_("第 %(n)s 行手机号码格式不正确") % {"n": number})
        elif email and "@" not in email:
            problems.append(_("第 %(n)s 行邮箱格式不正确") % {"n": number})
        else:
            people.append({"id": customer_id, "name": name, "mobile": mobile, "email": email})
    if problems:
        raise ValidationError("；".join(problems))
    if not people:
        raise ValidationError(_("请至少填写一位客户。"))
    if len(people) > limit:
        raise ValidationError(_("一次最多邀请 %(limit)s 位客户。") % {"limit": limit})
    return people
