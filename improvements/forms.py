"""Forms of the improvement pages: they parse input; the services decide what is allowed."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from alerts.models import RootCause
from analytics.models import Topic
from improvements.models import Level, ProjectStatus
from journeys.models import Touchpoint
from organizations.models import Membership, OrgUnit


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user) -> str:
        return user.get_full_name() or user.get_username()


def _members():
    active = Membership.objects.filter(deactivated_at__isnull=True).values("user")
    return get_user_model().objects.filter(pk__in=active).order_by("username")


class ProjectCreateForm(forms.Form):
    title = forms.CharField(label=_("标题"), max_length=200, required=False)
    level = forms.ChoiceField(label=_("问题层级"), choices=Level.choices)
    root_cause = forms.ModelChoiceField(label=_("根本原因"), queryset=None, required=False)
    owner = MemberChoiceField(label=_("负责人"), queryset=None, required=False)
    description = forms.CharField(
        label=_("说明"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    touchpoints = forms.ModelMultipleChoiceField(label=_("触点"), queryset=None, required=False)
    org_units = forms.ModelMultipleChoiceField(label=_("组织单元"), queryset=None, required=False)
    topics = forms.ModelMultipleChoiceField(label=_("文本主题"), queryset=None, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["root_cause"].queryset = RootCause.objects.order_by("level", "name")
        self.fields["owner"].queryset = _members()
        self.fields["touchpoints"].queryset = Touchpoint.objects.order_by("name")
        self.fields["org_units"].queryset = OrgUnit.objects.filter(is_active=True).order_by("path")
        self.fields["topics"].queryset = Topic.objects.order_by("name")


class ProjectLinksForm(forms.Form):
    touchpoints = forms.ModelMultipleChoiceField(label=_("触点"), queryset=None, required=False)
    org_units = forms.ModelMultipleChoiceField(label=_("组织单元"), queryset=None, required=False)
    topics = forms.ModelMultipleChoiceField(label=_("文本主题"), queryset=None, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["touchpoints"].queryset = Touchpoint.objects.order_by("name")
        self.fields["org_units"].queryset = OrgUnit.objects.filter(is_active=True).order_by("path")
        self.fields["topics"].queryset = Topic.objects.order_by("name")


class ProjectUpdateForm(forms.Form):
    owner = MemberChoiceField(label=_("负责人"), queryset=None, required=False)
    status = forms.ChoiceField(label=_("状态"), choices=ProjectStatus.choices)
    fix_date = forms.DateField(
        label=_("上线日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    review_days_before = forms.IntegerField(label=_("复盘：上线前天数"), min_value=1, max_value=365)
    review_days_after = forms.IntegerField(label=_("复盘：上线后天数"), min_value=1, max_value=365)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _members()


class ActionForm(forms.Form):
    description = forms.CharField(label=_("行动"), max_length=500, required=False)
    action_owner = MemberChoiceField(label=_("负责人"), queryset=None, required=False)
    due_date = forms.DateField(
        label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action_owner"].queryset = _members()


class RecurringSettingsForm(forms.Form):
    tickets = forms.IntegerField(label=_("工单数（N）"))
    days = forms.IntegerField(label=_("天数（M）"))
    units = forms.IntegerField(label=_("单元数（K）"))
