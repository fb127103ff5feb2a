"""Forms of the platform core."""

from django import forms
from django.utils.translation import gettext_lazy as _


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)
