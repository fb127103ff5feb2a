"""The member's own notification preferences."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from notifications.models import ROBOT_CHANNELS, Channel, Notification, NotificationPreference
from organizations.models import OrgUnit


class NotificationPreferenceForm(forms.Form):
    kinds = forms.MultipleChoiceField(
        label=_("通知我的事件"),
        choices=Notification.Kind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    channels = forms.MultipleChoiceField(
        label=_("站内通知之外，还通过"),
        choices=Channel.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    quiet_from = forms.TimeField(
        label=_("免打扰开始"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    quiet_until = forms.TimeField(
        label=_("免打扰结束"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )

    mobile = forms.CharField(label=_("短信手机号"), required=False, max_length=20)

    @classmethod
    def of(cls, preference: NotificationPreference, data=None) -> NotificationPreferenceForm:
        initial = {
            "kinds": preference.kinds,
            "channels": preference.channels,
            "quiet_from": preference.quiet_from,
            "quiet_until": preference.quiet_until,
            "mobile": preference.mobile,
        }
        return cls(data, initial=initial)


class GroupRobotForm(forms.Form):
    kind = forms.ChoiceField(label=_("平台"), choices=[(c.value, c.label) for c in ROBOT_CHANNELS])
    org_unit = forms.ModelChoiceField(
        label=_("组织单元"),
        queryset=OrgUnit.all_tenants.none(),  # the current tenant's, set per form
        required=False,
        empty_label=_("全租户（没有自己机器人的单元）"),
    )
    webhook_url = forms.CharField(label=_("Webhook 地址"), max_length=500)
    secret = forms.CharField(
        label=_("签名密钥（钉钉加签、飞书签名校验）"),
        max_length=200,
        required=False,
        widget=forms.PasswordInput,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].queryset = OrgUnit.objects.filter(is_active=True)
