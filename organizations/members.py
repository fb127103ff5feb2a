"""Writes of a tenant's people: a new tenant with its owner (sign-up, `create_tenant`),
invitations (single-use links that expire), accepting one, changing a member's role or scope,
deactivating a member. Rules in docs/members.md."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from organizations.access import require_permission
from organizations.messaging import DeliveryError, Message, deliver
from organizations.models import MemberInvitation, Membership, OrgUnit, Role, Tenant
from organizations.services import audit_record, tenant_create
from organizations.signals import member_deactivated
from organizations.tenancy import current_tenant, system_context, tenant_context

logger = logging.getLogger(__name__)

INVITATION_LIFETIME = timedelta(days=7)


class MemberError(ValidationError):
    """A member change refused for a reason the person can fix; the message says it in full."""


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: MemberInvitation
    url: str  # holds the token: sent to the invitee, shown to the inviter once, never stored


def invitation_token_hash(token: str) -> str:
    # The token carries 256 random bits, so a fast hash is as safe as a slow one.
    return hashlib.sha256(token.encode()).hexdigest()


def _manager_membership(by: AbstractBaseUser) -> Membership:
    """The acting person's active membership of the current tenant, refused unless it may
    manage members."""
    membership = Membership.objects.filter(user=by, deactivated_at__isnull=True).first()
    if membership is None:
        raise PermissionDenied("Not a member of this tenant.")
    require_permission(membership, "member.manage")
    return membership


def _check_role_grant(*, actor: Membership, role: str) -> None:
    if role not in Role.values:
        raise MemberError(_("未知角色：%(role)s") % {"role": role})
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise MemberError(_("只有所有者可以授予所有者角色。"))


def _check_scope(org_unit: OrgUnit | None) -> None:
    if org_unit is not None and org_unit.tenant_id != current_tenant().pk:
        raise MemberError(_("所选组织单元不属于本租户。"))
    if org_unit is not None and not org_unit.is_active:
        raise MemberError(_("所选组织单元已停用。"))


def _members_lock() -> None:
    """Serialise the current tenant's membership changes on its row, so that two concurrent
    changes cannot both remove "the other" last owner (and cannot deadlock on member rows)."""
    list(Tenant.objects.select_for_update().filter(pk=current_tenant().pk).values_list("pk"))


def _active_owner_count() -> int:
    return Membership.objects.filter(role=Role.OWNER, deactivated_at__isnull=True).count()


def _membership_state(membership: Membership) -> dict:
    return {
        "user": membership.user.get_username(),
        "role": membership.role,
        "org_unit": membership.org_unit_id,
        "active": membership.is_active,
    }


def normalized_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise MemberError(_("请输入有效的邮箱地址。")) from None
    return email


@transaction.atomic
def tenant_create_with_owner(
    *,
    slug: str,
    name: str,
    owner_email: str,
    owner_password: str | None,
    owner_name: str = "",
    existing_owner_allowed: bool = False,
) -> Tenant:
    """A new tenant and its owner's account; the owner is sent to the first-run checklist.

    With `existing_owner_allowed` (the operator's command) an existing account of that email
    becomes the owner and keeps its password; sign-up refuses it."""
    email = normalized_email(owner_email)
    name = name.strip()
    if not name:
        raise MemberError(_("请填写组织名称。"))
    if Tenant.objects.filter(slug=slug).exists():
        raise MemberError(_("标识 %(slug)s 已被使用，请换一个。") % {"slug": slug})
    users = get_user_model()
    owner = users.objects.filter(Q(email__iexact=email) | Q(username__iexact=email)).first()
    if owner is not None and not existing_owner_allowed:
        raise MemberError(_("此邮箱已注册，请登录后使用。"))
    if owner is None:
        owner = users(username=email, email=email, first_name=owner_name.strip())
        password_validation.validate_password(owner_password or "", owner)
        owner.set_password(owner_password)
        owner.full_clean(exclude=["password"])
        owner.save()
    tenant = tenant_create(slug=slug, name=name, owner=owner)
    tenant.settings = {**tenant.settings, "first_run": True}
    tenant.save(update_fields=["settings"])
    with tenant_context(tenant):
        audit_record(
            by=owner, action="tenant.create", target=tenant, after={"slug": slug, "owner": email}
        )
    return tenant


@transaction.atomic
def tenant_first_run_finish(*, tenant: Tenant, by: AbstractBaseUser) -> Tenant:
    """The owner is done with the checklist: the tenant's home is the dashboard again."""
    _manager_membership(by)
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if tenant.settings.get("first_run"):
        tenant.settings = {k: v for k, v in tenant.settings.items() if k != "first_run"}
        tenant.save(update_fields=["settings"])
        audit_record(by=by, action="tenant.first_run_finish", target=tenant)
    return tenant


@transaction.atomic
def invitation_create(
    *, email: str, role: str, org_unit: OrgUnit | None, by: AbstractBaseUser
) -> IssuedInvitation:
    """Invite `email` to the current tenant with `role`, scoped to `org_unit` (None: the whole
    tenant); the link is emailed after commit. Refused for a person who is already an active
    member or has a pending invitation."""
    actor = _manager_membership(by)
    email = normalized_email(email)
    _check_role_grant(actor=actor, role=role)
    _check_scope(org_unit)
    if Membership.objects.filter(user__email__iexact=email, deactivated_at__isnull=True).exists():
        raise MemberError(_("%(email)s 已是本租户成员。") % {"email": email})
    now = timezone.now()
    if (
        MemberInvitation.objects.select_for_update()
        .filter(email=email, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)
        .exists()
    ):
        raise MemberError(_("已向 %(email)s 发出邀请，尚未接受或过期。") % {"email": email})
    token = secrets.token_urlsafe(32)
    invitation = MemberInvitation.objects.create(
        email=email,
        role=role,
        org_unit=org_unit,
        token_hash=invitation_token_hash(token),
        invited_by=by,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    audit_record(
        by=by,
        action="member.invite",
        target=invitation,
        after={"email": email, "role": role, "org_unit": invitation.org_unit_id},
    )
    url = settings.CEM_PUBLIC_BASE_URL.rstrip("/") + reverse("invitation_accept", args=[token])
    tenant = current_tenant()
    transaction.on_commit(lambda: _invitation_send(invitation=invitation, url=url, tenant=tenant))
    return IssuedInvitation(invitation=invitation, url=url)


def _invitation_send(*, invitation: MemberInvitation, url: str, tenant: Tenant) -> None:
    """Email the link, after commit and outside any lock; a failure stays in the message log
    (the inviter has the link on screen and can pass it on)."""
    subject = _("邀请您加入 %(tenant)s 的客户体验管理平台") % {"tenant": tenant.name}
    invited = _(
        "%(tenant)s 邀请您以「%(role)s」身份加入客户体验管理平台。请在 %(days)s 天内打开以下链接，"
        "设置姓名和密码后即可使用（链接只能使用一次）："
    ) % {
        "tenant": tenant.name,
        "role": invitation.get_role_display(),
        "days": INVITATION_LIFETIME.days,
    }
    body = "\n\n".join([_("您好！"), invited, url, _("如果您不认识邀请方，请忽略此邮件。")])
    with tenant_context(tenant):
        try:
            deliver(
                Message(channel="email", recipient=invitation.email, subject=subject, body=body),
                purpose=f"member_invitation:{invitation.pk}",
            )
        except DeliveryError:
            logger.warning("member invitation %s: email not delivered", invitation.pk)


def invitation_by_token(token: str) -> MemberInvitation | None:
    """The invitation a link's token names, across tenants: the token names the tenant."""
    with system_context():
        return (
            MemberInvitation.all_tenants.select_related("tenant", "org_unit")
            .filter(token_hash=invitation_token_hash(token), tenant__is_active=True)
            .first()
        )


def invitation_problem(invitation: MemberInvitation | None) -> str:
    """Why this invitation can no longer be accepted, or "" when it can."""
    if invitation is None:
        return _("邀请链接无效。")
    if invitation.accepted_at is not None:
        return _("此邀请链接已被使用。")
    if invitation.revoked_at is not None:
        return _("此邀请已被撤销。")
    if invitation.expires_at <= timezone.now():
        return _("此邀请链接已过期，请联系管理员重新邀请。")
    return ""


@transaction.atomic
def invitation_accept(
    *,
    invitation: MemberInvitation,
    user: AbstractBaseUser | None = None,
    name: str = "",
    password: str = "",
) -> Membership:
    """Make the invitee a member with the invitation's role and scope, once.

    A signed-in `user` accepts for themselves (their email must be the invited one); without
    one, a new account is made for the invited email with `name` and `password`. Run inside
    the invitation's tenant (tenant_context)."""
    invitation = MemberInvitation.objects.select_for_update().get(pk=invitation.pk)
    problem = invitation_problem(invitation)
    if problem:
        raise MemberError(problem)
    users = get_user_model()
    if user is None:
        if users.objects.filter(email__iexact=invitation.email).exists() or (
            users.objects.filter(username__iexact=invitation.email).exists()
        ):
            raise MemberError(_("此邮箱已有账号，请先登录再接受邀请。"))
        user = users(username=invitation.email, email=invitation.email, first_name=name.strip())
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save()
    elif (user.email or "").lower() != invitation.email:
        raise MemberError(
            _("此邀请发给 %(email)s，请使用该邮箱的账号登录后再接受。")
            % {"email": invitation.email}
        )
    membership = Membership.objects.select_for_update().filter(user=user).first()
    if membership is not None and membership.is_active:
        raise MemberError(_("您已是本租户成员。"))
    before = _membership_state(membership) if membership else None
    if membership is None:
        membership = Membership(user=user)
    membership.role = invitation.role
    membership.org_unit = invitation.org_unit
    membership.deactivated_at = None
    membership.save()
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(
        by=user,
        action="member.join",
        target=membership,
        before=before,
        after={**_membership_state(membership), "invitation": invitation.pk},
    )
    return membership


@transaction.atomic
def invitation_revoke(*, invitation: MemberInvitation, by: AbstractBaseUser) -> MemberInvitation:
    _manager_membership(by)
    invitation = MemberInvitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(
            by=by,
            action="member.invitation_revoke",
            target=invitation,
            after={"email": invitation.email},
        )
    return invitation


def _check_may_change(*, actor: Membership, membership: Membership) -> None:
    if not membership.is_active:
        raise MemberError(_("该成员已停用。"))
    if membership.role == Role.OWNER and actor.role != Role.OWNER:
        raise MemberError(_("只有所有者可以更改或停用所有者。"))


@transaction.atomic
def membership_update(
    *, membership: Membership, role: str, org_unit: OrgUnit | None, by: AbstractBaseUser
) -> Membership:
    """Change a member's role and scope. The last active owner cannot be demoted."""
    actor = _manager_membership(by)
    _members_lock()
    membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    _check_may_change(actor=actor, membership=membership)
    if role != membership.role:
        _check_role_grant(actor=actor, role=role)
    if org_unit != membership.org_unit:
        _check_scope(org_unit)
    if membership.role == Role.OWNER and role != Role.OWNER and _active_owner_count() <= 1:
        raise MemberError(_("不能降级最后一位所有者：请先将其他成员设为所有者。"))
    before = _membership_state(membership)
    membership.role = role
    membership.org_unit = org_unit
    membership.save(update_fields=["role", "org_unit"])
    after = _membership_state(membership)
    if after != before:
        audit_record(by=by, action="member.update", target=membership, before=before, after=after)
    return membership


@transaction.atomic
def membership_deactivate(*, membership: Membership, by: AbstractBaseUser) -> Membership:
    """Deactivate a member: the row stays (history), the person can no longer enter the tenant,
    and the apps release what they held (`member_deactivated`: their open tickets go back to
    their unit's queue). The last active owner cannot be deactivated."""
    actor = _manager_membership(by)
    _members_lock()
    membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    _check_may_change(actor=actor, membership=membership)
    if membership.role == Role.OWNER and _active_owner_count() <= 1:
        raise MemberError(_("不能停用最后一位所有者：请先将其他成员设为所有者。"))
    before = _membership_state(membership)
    membership.deactivated_at = timezone.now()
    membership.save(update_fields=["deactivated_at"])
    audit_record(
        by=by,
        action="member.deactivate",
        target=membership,
        before=before,
        after=_membership_state(membership),
    )
    member_deactivated.send(sender=Membership, membership=membership, by=by)
    return membership


@transaction.atomic
def membership_on_duty_set(
    *, membership: Membership, on_duty: bool, by: AbstractBaseUser
) -> Membership:
    """Mark a member on or off duty (automatic ticket assignment passes over those off duty):
    the member themself, or an owner or admin."""
    if membership.user_id != by.pk:
        _manager_membership(by)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.on_duty != on_duty:
        membership.on_duty = on_duty
        membership.save(update_fields=["on_duty"])
        audit_record(by=by, action="member.on_duty", target=membership, after={"on_duty": on_duty})
    return membership
