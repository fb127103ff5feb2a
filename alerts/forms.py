"""Forms of the ticket workbench."""

from django import forms
from django.utils.translation import gettext_lazy as _

from alerts.models import RootCause
from alerts.services import TRANSITIONS


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["root_cause"].queryset = RootCause.objects.order_by("level", "name")
