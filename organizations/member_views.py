"""Browser views of members: the member list with invitations, a member's role and scope,
deactivation, the public page that accepts an invitation, and the password pages."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from organizations.access import tenant_view
from organizations.forms import (
    InvitationAcceptForm,
    MemberInviteForm,
    MemberScopeForm,
    SignupForm,
)
from organizations.members import (
    MemberError,
    invitation_accept,
    invitation_by_token,
    invitation_create,
    invitation_problem,
    invitation_revoke,
    membership_deactivate,
    membership_update,
    tenant_create_with_owner,
)
from organizations.models import MemberInvitation, Membership
from organizations.ratelimit import client_address, rate_limit_exceeded
from organizations.tenancy import tenant_context


def error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def public_post_limited(request: HttpRequest, scope: str) -> bool:
    """Count a POST to a public account page; True when this address sent too many."""
    return request.method == "POST" and rate_limit_exceeded(
        scope=scope, key=client_address(request), limit=settings.CEM_PUBLIC_FORM_RATE
    )


def too_many(request: HttpRequest) -> HttpResponse:
    return render(request, "organizations/too_many.html", status=429)


@never_cache  # shows a new invitation's link once
@tenant_view("member.manage")
def member_list(request: HttpRequest) -> HttpResponse:
    form = MemberInviteForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        try:
            issued = invitation_create(by=request.user, **form.cleaned_data)
        except MemberError as error:
            form.add_error(None, error_text(error))
        else:
            messages.success(
                request, _("已向 %(email)s 发出邀请。") % {"email": issued.invitation.email}
            )
            form = MemberInviteForm()
    members = Membership.objects.select_related("user", "org_unit").order_by(
        "deactivated_at", "user__username"
    )
    invitations = MemberInvitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True
    ).select_related("org_unit", "invited_by")
    return render(
        request,
        "organizations/members.html",
        {"form": form, "members": members, "invitations": invitations, "issued": issued},
        status=400 if form.errors else 200,
    )


@tenant_view("member.manage")
def member_edit(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(
        Membership.objects.select_related("user", "org_unit"), pk=membership_id
    )
    form = MemberScopeForm(
        request.POST or None,
        initial={"role": membership.role, "org_unit": membership.org_unit_id},
    )
    if request.method == "POST" and form.is_valid():
        try:
            membership_update(membership=membership, by=request.user, **form.cleaned_data)
        except MemberError as error:
            form.add_error(None, error_text(error))
        else:
            messages.success(request, _("已更新成员 %(user)s。") % {"user": membership.user})
            return redirect("members", tenant_slug=request.tenant.slug)
    return render(
        request,
        "organizations/member_edit.html",
        {"form": form, "member": membership},
        status=400 if form.errors else 200,
    )


@require_POST
@tenant_view("member.manage")
def member_deactivate(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=membership_id)
    try:
        membership_deactivate(membership=membership, by=request.user)
    except MemberError as error:
        messages.error(request, error_text(error))
        return redirect("member_edit", tenant_slug=request.tenant.slug, membership_id=membership.pk)
    messages.success(request, _("已停用成员 %(user)s。") % {"user": membership.user})
    return redirect("members", tenant_slug=request.tenant.slug)


@require_POST
@tenant_view("member.manage")
def invitation_revoke_view(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(MemberInvitation.objects.all(), pk=invitation_id)
    invitation_revoke(invitation=invitation, by=request.user)
    messages.success(request, _("已撤销对 %(email)s 的邀请。") % {"email": invitation.email})
    return redirect("members", tenant_slug=request.tenant.slug)


@never_cache
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """Public: the link's token names the invitation and its tenant. A signed-in invitee just
    accepts; anyone else sets a name and password for a new account."""
    if public_post_limited(request, "invitation"):
        return too_many(request)
    invitation = invitation_by_token(token)
    problem = invitation_problem(invitation)
    if problem:
        return render(
            request, "organizations/invitation_accept.html", {"problem": problem}, status=404
        )
    signed_in = request.user.is_authenticated
    form = None if signed_in else InvitationAcceptForm(request.POST or None)
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            with tenant_context(invitation.tenant):
                membership = invitation_accept(
                    invitation=invitation,
                    user=request.user if signed_in else None,
                    name=form.cleaned_data["name"] if form else "",
                    password=form.cleaned_data["password1"] if form else "",
                )
        except ValidationError as error:  # a refused accept, or the new account's name
            problem = error_text(error)
        else:
            if not signed_in:
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request, _("欢迎加入 %(tenant)s！") % {"tenant": invitation.tenant.name}
            )
            return redirect("tenant_home", tenant_slug=invitation.tenant.slug)
    return render(
        request,
        "organizations/invitation_accept.html",
        {"invitation": invitation, "form": form, "error": problem},
        status=400 if request.method == "POST" else 200,
    )


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset, limited per client address: each POST may send an email."""

    def post(self, request, *args, **kwargs):
        if public_post_limited(request, "password_reset"):
            return too_many(request)
        return super().post(request, *args, **kwargs)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def post(self, request, *args, **kwargs):
        if public_post_limited(request, "password_reset"):
            return too_many(request)
        return super().post(request, *args, **kwargs)


@never_cache
def signup(request: HttpRequest) -> HttpResponse:
    """Public, where the operator opened it (CEM_SIGNUP_OPEN): a new tenant and its owner."""
    if not settings.CEM_SIGNUP_OPEN:
        raise Http404("Sign-up is closed")
    if public_post_limited(request, "signup"):
        return too_many(request)
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            tenant = tenant_create_with_owner(
                slug=data["slug"],
                name=data["organisation"],
                owner_email=data["email"],
                owner_password=data["password1"],
                owner_name=data["name"],
            )
        except ValidationError as error:
            form.add_error(None, error_text(error))
        else:
            owner = get_user_model().objects.get(username=data["email"].strip().lower())
            login(request, owner, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("onboarding", tenant_slug=tenant.slug)
    return render(
        request, "organizations/signup.html", {"form": form}, status=400 if form.errors else 200
    )
