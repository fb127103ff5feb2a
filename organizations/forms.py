"""Forms of the platform core."""

from django import forms
from django.utils.translation import gettext_lazy as _

from organizations.validators import BRAND_COLOR, web_url_problem


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)


class TenantThemeForm(forms.Form):
    brand_color = forms.RegexField(
        label=_("品牌色"),
        regex=BRAND_COLOR,
        required=False,
        error_messages={"invalid": _("品牌色须为 #1d4ed8 这样的格式。")},
    )
    logo_url = forms.URLField(label=_("Logo 地址"), required=False, assume_scheme="https")

    def clean_logo_url(self) -> str:
        url = self.cleaned_data["logo_url"]
        problem = url and web_url_problem(url)
        if problem:
            raise forms.ValidationError(problem)
        return url
