"""Forms of the platform core."""

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from organizations.models import OrgUnit, Role
from organizations.selectors import org_unit_choices
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


class OrgUnitChoiceField(forms.ModelChoiceField):
    """A scope: one of the current tenant's org units, or empty for the whole tenant."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            queryset=OrgUnit.all_tenants.none(),  # the form sets the tenant's units
            required=False,
            empty_label=_("整个租户"),
            label=_("数据范围"),
            error_messages={"invalid_choice": _("所选组织单元不属于本租户。")},
            **kwargs,
        )

    def label_from_instance(self, unit) -> str:
        return "\u3000" * unit.depth + unit.name


class MemberScopeForm(forms.Form):
    """Role and org-unit scope; the unit list is the current tenant's (the scoped manager)."""

    role = forms.ChoiceField(label=_("角色"), choices=Role.choices)
    org_unit = OrgUnitChoiceField()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].queryset = org_unit_choices()


class MemberInviteForm(MemberScopeForm):
    email = forms.EmailField(
        label=_("邮箱"),
        max_length=254,
        error_messages={"invalid": _("请输入有效的邮箱地址。")},
    )
    field_order = ["email", "role", "org_unit"]


class InvitationAcceptForm(forms.Form):
    """A new account's name and password, checked by the site's password validators."""

    name = forms.CharField(label=_("姓名"), max_length=150)
    password1 = forms.CharField(
        label=_("密码"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label=_("再次输入密码"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("两次输入的密码不一致。"))
        elif first:
            try:
                password_validation.validate_password(first)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class SignupForm(forms.Form):
    """A new organisation and its owner's account."""

    organisation = forms.CharField(label=_("组织名称"), max_length=200)
    slug = forms.SlugField(
        label=_("网址标识"),
        max_length=50,
        help_text=_("小写字母、数字和连字符，用于网址 /t/<标识>/，例如 jinan-bank。"),
        error_messages={"invalid": _("标识只能包含小写字母、数字、连字符和下划线。")},
    )
    name = forms.CharField(label=_("您的姓名"), max_length=150)
    email = forms.EmailField(
        label=_("邮箱（登录用户名）"),
        max_length=254,
        error_messages={"invalid": _("请输入有效的邮箱地址。")},
    )
    password1 = InvitationAcceptForm.base_fields["password1"]
    password2 = InvitationAcceptForm.base_fields["password2"]

    def clean_slug(self) -> str:
        return self.cleaned_data["slug"].lower()

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("两次输入的密码不一致。"))
        return cleaned
