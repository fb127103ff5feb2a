"""Forms of the ticket workbench and of the alert rule editor."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from alerts import selectors
from alerts.escalation import ESCALATION, LEVELS, PERCENT_RANGE, STEPS_MAX
from alerts.models import (
    AlertRule,
    ContactChannel,
    ContactOutcome,
    Priority,
    RecoveryKind,
    RootCause,
)
from alerts.rules import (
    FACT_LABELS,
    FACT_OPERATORS,
    INTEGER_FACTS,
    LIST_FACTS,
    NUMBER_FACTS,
    operator_problem,
    value_problem,
)
from alerts.services import SLA_HOURS_MAX, TRANSITIONS
from alerts.sla import NEAR_BREACH_RANGE, TARGET_MINUTES_MAX
from organizations.business_hours import (
    CalendarError,
    calendar_zone_name,
    closures_text,
    closures_text_parse,
    hours_parse,
    zone_parse,
)
from surveys.models import Channel, Survey


class TicketActionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[(name, move.label) for name, move in TRANSITIONS.items()]
        + [("note", _("添加记录"))]
    )
    note = forms.CharField(
        label=_("跟进记录"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=5000,
    )
    root_cause = forms.ModelChoiceField(
        label=_("根本原因"), queryset=RootCause.all_tenants.none(), required=False
    )
    resolution = forms.CharField(
        label=_("解决方案"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=5000,
    )
    follow_up = forms.BooleanField(label=_("关闭时向客户发送回访问卷"), required=False)

    def __init__(self, *args, root_cause_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["root_cause"].queryset = selectors.root_cause_choices(keep=root_cause_id)


class TicketContactForm(forms.Form):
    """A call, visit or message to the customer, and how it went."""

    channel = forms.ChoiceField(label=_("联系方式"), choices=ContactChannel.choices)
    outcome = forms.ChoiceField(label=_("联系结果"), choices=ContactOutcome.choices)
    note = forms.CharField(
        label=_("说明"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class TicketRecoveryForm(forms.Form):
    """A recovery action and its cost in yuan (checked by alerts.recovery.recovery_cost)."""

    kind = forms.ChoiceField(label=_("补救措施"), choices=RecoveryKind.choices)
    cost = forms.CharField(
        label=_("成本（元）"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    note = forms.CharField(
        label=_("说明"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class TicketBulkForm(forms.Form):
    """The queue's bulk actions on the tickets ticked: assign them, or close them as duplicates
    of one ticket kept."""

    action = forms.ChoiceField(
        choices=[("assign", _("分派")), ("duplicate", _("作为重复工单关闭"))]
    )
    tickets = forms.TypedMultipleChoiceField(
        coerce=int, label=_("工单"), error_messages={"required": _("请先勾选工单。")}
    )
    assignee = forms.TypedChoiceField(label=_("分派给"), coerce=int, required=False)
    duplicate_of = forms.IntegerField(label=_("保留的工单号"), required=False, min_value=1)

    def __init__(self, *args, ticket_ids=(), assignees=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tickets"].choices = [(pk, pk) for pk in ticket_ids]
        self.fields["assignee"].choices = [("", "—")] + [
            (member.user_id, member.user.get_full_name() or member.user.get_username())
            for member in assignees
        ]

    def clean(self):
        data = super().clean()
        if data.get("action") == "assign" and not data.get("assignee"):
            self.add_error("assignee", _("请选择分派给谁。"))
        if data.get("action") == "duplicate" and not data.get("duplicate_of"):
            self.add_error("duplicate_of", _("请填写要保留的工单号。"))
        return data


ANALYTICS_DAYS = 30  # the default period: the last 30 days
ANALYTICS_DAYS_MAX = 366


class TicketAnalyticsFilter(forms.Form):
    """The period (the tenant's days, both included) and org unit of the analytics page and the
    export, read from the URL."""

    start = forms.DateField(label=_("开始日期"), required=False)
    end = forms.DateField(label=_("结束日期"), required=False)
    unit = forms.IntegerField(label=_("组织单元"), required=False, min_value=1)

    def __init__(self, *args, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        end = data.get("end") or self.today
        start = data.get("start") or end - timedelta(days=ANALYTICS_DAYS - 1)
        if start > end:
            raise ValidationError(_("开始日期不能晚于结束日期。"))
        if (end - start).days >= ANALYTICS_DAYS_MAX:
            raise ValidationError(_("时间范围最长 %(days)d 天。") % {"days": ANALYTICS_DAYS_MAX})
        data["start"], data["end"] = start, end
        return data


class FollowUpSettingsForm(forms.Form):
    """Which survey (published) the customer is sent when a ticket closes, and on which channel."""

    survey = forms.ModelChoiceField(
        label=_("回访问卷"), queryset=Survey.all_tenants.none(), required=False
    )
    channel = forms.ChoiceField(label=_("发送渠道"), choices=Channel.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["survey"].queryset = Survey.objects.filter(
            status=Survey.Status.PUBLISHED
        ).order_by("name")


# --- The alert rule editor -------------------------------------------------------------------

MAX_CONDITIONS = 20
# Several labels typed into one box for "in": split on commas, 、, semicolons or spaces.
_SEPARATORS = re.compile(r"[,，、;；\s]+")
FACT_GROUPS = [
    (_("分数"), ["nps", "nps_category", "csat", "ces"]),
    (
        _("文本分析"),
        [
            "sentiment",
            "sentiment_score",
            "risk_flag",
            "aspect_negative",
            "aspect_positive",
            "topic",
        ],
    ),
    (_("来源"), ["touchpoint", "org_unit"]),
]
OPERATOR_LABELS = {
    "eq": _("= 等于"),
    "ne": _("≠ 不等于"),
    "lt": _("< 小于"),
    "lte": _("≤ 小于等于"),
    "gt": _("> 大于"),
    "gte": _("≥ 大于等于"),
    "contains": _("包含"),
    "in": _("属于其一（可多选）"),
}
# The value list of the editor shows each set of labels once: both aspect facts share one.
VALUE_GROUPS = {"aspect_negative": "aspect", "aspect_positive": "aspect"}
MATCH_CHOICES = [("any", _("满足任一条件（或）")), ("all", _("满足全部条件（且）"))]


def value_group(fact: str) -> str:
    return VALUE_GROUPS.get(fact, fact)


class AlertRuleForm(forms.Form):
    name = forms.CharField(label=_("规则名称"), max_length=200)
    match = forms.ChoiceField(
        label=_("触发方式"), choices=MATCH_CHOICES, initial="any", widget=forms.RadioSelect
    )
    priority = forms.ChoiceField(
        label=_("工单优先级"), choices=Priority.choices, initial=Priority.NORMAL
    )
    sla_hours = forms.IntegerField(
        label=_("SLA 时限（工作小时）"), min_value=1, max_value=SLA_HOURS_MAX, initial=24
    )


class _PickedValues(forms.MultipleChoiceField):
    """Values picked from the editor's list, or sent by a stale page: ConditionRowForm.clean
    checks them against the row's fact and says which do not fit, instead of a bare refusal."""

    def valid_value(self, value: str) -> bool:
        return True


class ConditionRowForm(forms.Form):
    """One condition: a fact, an operator and a value. A number is typed; labels are picked
    from the list, or typed by name or stored value (several separated by 、 for "in")."""

    fact = forms.ChoiceField(
        label=_("指标"),
        required=False,
        widget=forms.Select(attrs={"aria-label": _("指标"), "data-role": "fact"}),
    )
    op = forms.ChoiceField(
        label=_("比较"),
        required=False,
        widget=forms.Select(attrs={"aria-label": _("比较"), "data-role": "op"}),
    )
    value = forms.CharField(
        label=_("输入值"),
        required=False,
        max_length=500,
        widget=forms.TextInput(
            attrs={
                "aria-label": _("输入值"),
                "data-role": "value",
                "placeholder": _("数字，或名称（多个用、分隔）"),
            }
        ),
    )
    choices = _PickedValues(label=_("选择值"), required=False)

    def __init__(self, *args, fact_choices: dict[str, dict[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fact_choices = fact_choices
        self.fields["fact"].choices = [
            ("", "—"),
            *[
                (group, [(fact, FACT_LABELS[fact]) for fact in facts])
                for group, facts in FACT_GROUPS
            ],
        ]
        self.fields["op"].choices = [("", "—"), *OPERATOR_LABELS.items()]

    def clean(self) -> dict:
        data = super().clean()
        fact, op = data.get("fact", ""), data.get("op", "")
        text = data.get("value", "").strip()
        picked = [value for value in data.get("choices", []) if value]
        data["leaf"] = None
        if "fact" in self.errors or "op" in self.errors:
            return data  # an unknown fact or operator: its own message says so
        if not (fact or op or text or picked):
            return data  # a blank row is left out
        if not fact:
            raise ValidationError(_("请选择指标。"))
        if not op:
            raise ValidationError(_("请选择比较方式。"))
        problem = operator_problem(fact, op)
        if problem:
            raise ValidationError(problem)
        if fact in NUMBER_FACTS:
            value = self._number(fact, text)
        else:
            value = self._labels(fact, op, [*picked, *_SEPARATORS.split(text)])
        problem = value_problem(fact, op, value, self.fact_choices)
        if problem:
            raise ValidationError(problem)
        data["leaf"] = {"fact": fact, "op": op, "value": value}
        return data

    @staticmethod
    def _number(fact: str, text: str) -> int | float:
        if not text:
            raise ValidationError(_("请填写「%(fact)s」的数值。") % {"fact": FACT_LABELS[fact]})
        try:
            number = float(text)
        except ValueError:
            raise ValidationError(_("「%(text)s」不是数字。") % {"text": text}) from None
        return int(number) if fact in INTEGER_FACTS and number.is_integer() else number

    def _labels(self, fact: str, op: str, raw: list[str]) -> str | list[str]:
        """The picked and typed values as stored values (a typed name is looked up), one for a
        single-value operator, a list for "in"."""
        choices = self.fact_choices.get(fact, {})
        by_label = {str(label): value for value, label in choices.items()}
        values = list(dict.fromkeys(v if v in choices else by_label.get(v, v) for v in raw if v))
        if op == "in":
            return values
        if len(values) > 1:
            raise ValidationError(
                _("「%(op)s」只能有一个值；要匹配多个值，请选「属于其一」。")
                % {"op": OPERATOR_LABELS[op]}
            )
        if not values:
            raise ValidationError(_("请选择「%(fact)s」的值。") % {"fact": FACT_LABELS[fact]})
        return values[0]

    @property
    def picked(self) -> list[str]:
        """The values the value list shows as selected: as posted, or as the rule has them."""
        if self.is_bound:
            return self.data.getlist(self.add_prefix("choices"))
        return self.initial.get("choices", [])

    @property
    def picks_several(self) -> bool:
        op = self.data.get(self.add_prefix("op")) if self.is_bound else self.initial.get("op")
        return op == "in"


class BaseConditionFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        if not self.leaves():
            raise ValidationError(_("请至少填写一个条件。"))

    def leaves(self) -> list[dict]:
        return [
            form.cleaned_data["leaf"]
            for form in self.forms
            if form.cleaned_data.get("leaf") and not form.cleaned_data.get("DELETE")
        ]


ConditionFormSet = forms.formset_factory(
    ConditionRowForm,
    formset=BaseConditionFormSet,
    extra=0,
    can_delete=True,
    max_num=MAX_CONDITIONS,
    absolute_max=MAX_CONDITIONS,
    validate_max=True,
)


def _row_initial(leaf: dict) -> dict:
    fact, op, value = leaf["fact"], leaf["op"], leaf["value"]
    if fact in NUMBER_FACTS:
        return {"fact": fact, "op": op, "value": str(value)}
    return {"fact": fact, "op": op, "choices": value if isinstance(value, list) else [value]}


class AlertRuleEditor:
    """The rule's settings and its condition rows (a top-level all/any over facts), validated
    together. A rule saved with nested groups keeps its conditions: the editor shows them but
    edits only the settings."""

    PREFIX = "c"

    def __init__(
        self,
        data: QueryDict | None = None,
        *,
        rule: AlertRule | None,
        fact_choices: dict[str, dict[str, str]],
        add_row: bool = False,
    ) -> None:
        conditions = rule.conditions if rule else {"any": []}
        if "fact" in conditions:
            conditions = {"all": [conditions]}
        match = "all" if "all" in conditions else "any"
        leaves = conditions[match]
        self.nested = any("fact" not in leaf for leaf in leaves)
        self.kept_conditions = rule.conditions if self.nested else None
        self.fact_choices = fact_choices
        initial = {"match": match}
        if rule:
            initial |= {"name": rule.name, "priority": rule.priority, "sla_hours": rule.sla_hours}
        rows = [] if self.nested else [_row_initial(leaf) for leaf in leaves] or [{}]
        if data is not None and add_row:
            # Without JavaScript the server adds the row: what was typed comes back as initial
            # values of unbound forms, so unfinished rows are not shown as errors.
            initial = {name: data.get(name, "") for name in AlertRuleForm.base_fields}
            rows = self._posted_rows(data)
            rows += [{}] if len(rows) < MAX_CONDITIONS else []
            data = None
        self.form = AlertRuleForm(data, initial=initial)
        if self.nested:
            del self.form.fields["match"]  # the kept tree has its own groups
        self.rows = ConditionFormSet(
            None if self.nested else data,
            initial=rows,
            prefix=self.PREFIX,
            form_kwargs={"fact_choices": fact_choices},
        )

    @classmethod
    def _posted_rows(cls, data: QueryDict) -> list[dict]:
        """The rows as posted, less those marked for removal, as initial values."""
        total = data.get(f"{cls.PREFIX}-TOTAL_FORMS", "")
        rows = []
        for index in range(min(int(total) if total.isdigit() else 0, MAX_CONDITIONS)):
            prefix = f"{cls.PREFIX}-{index}-"
            if not data.get(f"{prefix}DELETE"):
                rows.append(
                    {
                        "fact": data.get(f"{prefix}fact", ""),
                        "op": data.get(f"{prefix}op", ""),
                        "value": data.get(f"{prefix}value", ""),
                        "choices": data.getlist(f"{prefix}choices"),
                    }
                )
        return rows

    def is_valid(self) -> bool:
        form_valid = self.form.is_valid()
        return (self.nested or self.rows.is_valid()) and form_valid

    @property
    def conditions(self) -> dict:
        if self.nested:
            return self.kept_conditions
        return {self.form.cleaned_data["match"]: self.rows.leaves()}

    @property
    def settings(self) -> dict:
        data = self.form.cleaned_data
        return {key: data[key] for key in ("name", "priority", "sla_hours")}

    @cached_property
    def value_groups(self) -> list[tuple[str, str, list[tuple[str, str]]]]:
        """The editor's list of values as (group, label, [(value, label)]), each set once."""
        groups: dict[str, tuple[str, str, list[tuple[str, str]]]] = {}
        for fact, choices in self.fact_choices.items():
            group = value_group(fact)
            label = _("方面") if group == "aspect" else FACT_LABELS[fact]
            groups.setdefault(group, (group, label, list(choices.items())))
        return list(groups.values())

    @staticmethod
    def fact_specs() -> dict[str, dict]:
        """What the editor's script needs per fact to offer the operators that fit and the
        right value input: a number with its range, or a group of the value list."""
        specs: dict[str, dict] = {}
        for fact in FACT_LABELS:
            spec: dict = {"ops": list(FACT_OPERATORS[fact])}
            if fact in NUMBER_FACTS:
                low, high = NUMBER_FACTS[fact]
                step = 1 if fact in INTEGER_FACTS else 0.01
                spec |= {"kind": "number", "min": low, "max": high, "step": step}
            else:
                spec |= {"kind": "list" if fact in LIST_FACTS else "label"}
                spec["group"] = value_group(fact)
            specs[fact] = spec
        return specs


class TicketReassignForm(forms.Form):
    """Hand a ticket to a colleague: whom (a member who may work it) and why."""

    assignee = forms.TypedChoiceField(label=_("改派给"), coerce=int)
    reason = forms.CharField(label=_("改派原因"), max_length=500)

    def __init__(self, *args, assignees=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [
            (member.user_id, member.user.get_full_name() or member.user.get_username())
            for member in assignees
        ]


# --- Working calendar and SLA targets ----------------------------------------------------------

WEEKDAY_LABELS = (
    _("周一"),
    _("周二"),
    _("周三"),
    _("周四"),
    _("周五"),
    _("周六"),
    _("周日"),
)
PRIORITIES_HIGH_FIRST = list(reversed(Priority.choices))


def _hours_field() -> forms.DecimalField:
    return forms.DecimalField(
        min_value=Decimal("0.25"),
        max_value=Decimal(TARGET_MINUTES_MAX // 60),
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.25"}),
    )


class SlaSettingsForm(forms.Form):
    """The tenant's working calendar and its SLA targets (hours of working time) on one page.
    Each day's hours and the closures are checked by the calendar's own parser, so the page
    says what it says when a stored document is read."""

    time_zone = forms.CharField(label=_("时区"), max_length=64)
    public_holidays = forms.BooleanField(label=_("按中国大陆法定节假日和调休安排"), required=False)
    closures = forms.CharField(
        label=_("自定义休息日"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "2026-12-24 ~ 2026-12-25 年会"}),
    )
    near_breach_percent = forms.IntegerField(
        label=_("即将超时提醒（已用时限的百分比）"),
        min_value=NEAR_BREACH_RANGE[0],
        max_value=NEAR_BREACH_RANGE[1],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for day, label in enumerate(WEEKDAY_LABELS):
            self.fields[f"hours_{day}"] = forms.CharField(
                label=label,
                required=False,
                max_length=200,
                widget=forms.TextInput(attrs={"aria-describedby": "hours-help"}),
            )
        for step in range(STEPS_MAX):
            self.fields[f"escalation_level_{step}"] = forms.ChoiceField(
                label=_("升级到"),
                required=False,
                choices=[("", _("（不升级）")), *LEVELS.items()],
            )
            self.fields[f"escalation_percent_{step}"] = forms.IntegerField(
                label=_("SLA 已用（%）"),
                required=False,
                min_value=PERCENT_RANGE[0],
                max_value=PERCENT_RANGE[1],
            )
        for priority, label in PRIORITIES_HIGH_FIRST:
            self.fields[f"first_response_{priority}"] = _hours_field()
            self.fields[f"first_response_{priority}"].label = label
            self.fields[f"resolution_{priority}"] = _hours_field()
            self.fields[f"resolution_{priority}"].label = label

    @classmethod
    def initial_for(cls, *, tenant, document: dict, policy, chain) -> dict:
        initial = {
            "time_zone": calendar_zone_name(tenant),
            "public_holidays": document.get("public_holidays", True),
            "closures": closures_text(document.get("closures", [])),
            "near_breach_percent": policy.near_breach_percent,
        }
        initial |= {f"hours_{day}": text for day, text in enumerate(document["hours"])}
        for number, step in enumerate(chain):
            initial[f"escalation_level_{number}"] = step.level
            initial[f"escalation_percent_{number}"] = step.percent
        for priority, _label in PRIORITIES_HIGH_FIRST:
            initial[f"first_response_{priority}"] = Decimal(policy.first_response[priority]) / 60
            initial[f"resolution_{priority}"] = Decimal(policy.resolution[priority]) / 60
        return initial

    @property
    def weekday_fields(self) -> list:
        return [self[f"hours_{day}"] for day in range(len(WEEKDAY_LABELS))]

    @property
    def target_rows(self) -> list:
        """(priority label, first-response field, resolution field), highest priority first."""
        return [
            (label, self[f"first_response_{priority}"], self[f"resolution_{priority}"])
            for priority, label in PRIORITIES_HIGH_FIRST
        ]

    @property
    def escalation_rows(self) -> list:
        """(step number, level field, threshold field) of the escalation chain, in order."""
        return [
            (step + 1, self[f"escalation_level_{step}"], self[f"escalation_percent_{step}"])
            for step in range(STEPS_MAX)
        ]

    def _calendar_field(self, name: str, parse) -> None:
        if name not in self.cleaned_data:
            return  # refused already (too long, missing)
        try:
            parse(self.cleaned_data[name])
        except CalendarError as error:
            self.add_error(name, str(error))

    def clean(self) -> dict:
        data = super().clean()
        for day in range(len(WEEKDAY_LABELS)):
            self._calendar_field(f"hours_{day}", hours_parse)
        self._calendar_field("time_zone", zone_parse)
        self._calendar_field("closures", closures_text_parse)
        for step in range(STEPS_MAX):
            level = data.get(f"escalation_level_{step}")
            percent = data.get(f"escalation_percent_{step}")
            if level and percent is None and f"escalation_percent_{step}" not in self.errors:
                self.add_error(f"escalation_percent_{step}", _("请填写这一步的阈值。"))
            elif percent is not None and not level:
                self.add_error(f"escalation_level_{step}", _("请选择这一步升级到哪一级。"))
        return data

    @property
    def calendar_settings(self) -> dict:
        """The arguments of tenant_calendar_update."""
        data = self.cleaned_data
        return {
            "time_zone": data["time_zone"].strip(),
            "hours": [data[f"hours_{day}"].strip() for day in range(len(WEEKDAY_LABELS))],
            "public_holidays": data["public_holidays"],
            "closures": closures_text_parse(data["closures"]),
        }

    @property
    def targets(self) -> dict:
        """The arguments of sla_policy_update: targets in working minutes."""
        data = self.cleaned_data
        return {
            "first_response": {
                priority: round(data[f"first_response_{priority}"] * 60)
                for priority in Priority.values
            },
            "resolution": {
                priority: round(data[f"resolution_{priority}"] * 60) for priority in Priority.values
            },
            "near_breach_percent": data["near_breach_percent"],
            ESCALATION: [
                {"percent": data[f"escalation_percent_{step}"], "level": level}
                for step in range(STEPS_MAX)
                if (level := data[f"escalation_level_{step}"])
            ],
        }
