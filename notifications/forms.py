"""The member's own notification preferences."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from notifications.models import Channel, Notification, NotificationPreference


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

    @classmethod
    def of(cls, preference: NotificationPreference, data=None) -> NotificationPreferenceForm:
        initial = {
            "kinds": preference.kinds,
            "channels": preference.channels,
            "quiet_from": preference.quiet_from,
            "quiet_until": preference.quiet_until,
        }
        return cls(data, initial=initial)
