"""Forms of the platform core."""

from django import forms
from django.utils.translation import gettext_lazy as _


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)


class TenantThemeForm(forms.Form):
    brand_color = forms.RegexField(
        label=_("品牌色"),
        regex=r"^#[0-9a-fA-F]{6}$",
        required=False,
        error_messages={"invalid": _("品牌色须为 #1d4ed8 这样的格式。")},
    )
    logo_url = forms.URLField(label=_("Logo 地址"), required=False, assume_scheme="https")
