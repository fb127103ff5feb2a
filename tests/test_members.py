"""Members: invitations by single-use links that expire, accepting one, role and scope changes,
deactivation (the person is shut out, their open tickets go back to the queue), the last owner,
password change and reset, and every write refused to roles that may not manage members."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from alerts.models import Ticket, TicketStatus
from organizations.members import (
    INVITATION_LIFETIME,
    MemberError,
    invitation_accept,
    invitation_by_token,
    invitation_create,
    membership_deactivate,
    membership_update,
)
from organizations.models import AuditEvent, MemberInvitation, Membership, OutboundMessage, Role
from organizations.tenancy import tenant_context
from tests.factories import PASSWORD, UserFactory, member
from tests.helpers import BAD_ANSWERS, submit_and_score

User = get_user_model()
NEW_PASSWORD = "a-Long-pass-2026"


def owner_of(world):
    return User.objects.get(username=f"{world.tenant.slug}-owner")


def token_of(issued) -> str:
    return issued.url.rstrip("/").rsplit("/", 1)[-1]


def invite(world, email="new.agent@example.com", role=Role.AGENT, org_unit=None, by=None):
    with tenant_context(world.tenant):
        return invitation_create(
            email=email, role=role, org_unit=org_unit or world.branch, by=by or owner_of(world)
        )


def audit_actions(world) -> list[str]:
    with tenant_context(world.tenant):
        return list(AuditEvent.objects.order_by("at", "id").values_list("action", flat=True))


# --- invitations -------------------------------------------------------------------------


def test_invitation_is_emailed_logged_and_stored_hashed(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        issued = invite(world, email=" New.Agent@Example.com ")
    token = token_of(issued)
    with tenant_context(world.tenant):
        invitation = MemberInvitation.objects.get()
        sent = OutboundMessage.objects.get(purpose=f"member_invitation:{invitation.pk}")
    assert invitation.email == "new.agent@example.com"
    assert token not in invitation.token_hash and len(invitation.token_hash) == 64
    assert sent.status == OutboundMessage.Status.SENT and issued.url in sent.body
    assert mail.outbox[-1].to == ["new.agent@example.com"] and issued.url in mail.outbox[-1].body
    assert invitation_by_token(token) == invitation
    assert "member.invite" in audit_actions(world)


def test_invitee_accepts_once_and_becomes_a_member_with_role_and_scope(world):
    issued = invite(world)
    invitation = invitation_by_token(token_of(issued))
    with tenant_context(world.tenant):
        membership = invitation_accept(invitation=invitation, name="王五", password=NEW_PASSWORD)
        assert (membership.role, membership.org_unit) == (Role.AGENT, world.branch)
        with pytest.raises(MemberError, match="已被使用"):
            invitation_accept(invitation=invitation, name="王五", password=NEW_PASSWORD)
    user = membership.user
    assert user.username == "new.agent@example.com" and user.check_password(NEW_PASSWORD)
    assert "member.join" in audit_actions(world)


def test_expired_invitation_is_refused(world):
    issued = invite(world)
    invitation = invitation_by_token(token_of(issued))
    later = timezone.now() + INVITATION_LIFETIME + timedelta(minutes=1)
    with (
        time_machine.travel(later),
        tenant_context(world.tenant),
        pytest.raises(MemberError, match="已过期"),
    ):
        invitation_accept(invitation=invitation, name="王五", password=NEW_PASSWORD)
    assert not User.objects.filter(username="new.agent@example.com").exists()


def test_a_person_invited_twice_is_refused(world):
    invite(world)
    with pytest.raises(MemberError, match=r"已向 new\.agent@example\.com 发出邀请"):
        invite(world, email="NEW.agent@example.com")
    world.agent.email = "agent@example.com"
    world.agent.save()
    with pytest.raises(MemberError, match="已是本租户成员"):
        invite(world, email="agent@example.com")
    with tenant_context(world.tenant):
        assert MemberInvitation.objects.count() == 1


def test_bad_email_and_foreign_scope_are_refused(world, other_world):
    with pytest.raises(MemberError, match="有效的邮箱"):
        invite(world, email="not-an-email")
    with pytest.raises(MemberError, match="不属于本租户"):
        invite(world, org_unit=other_world.branch)
    with tenant_context(world.tenant):
        assert not MemberInvitation.objects.exists()


def test_only_an_owner_may_grant_owner(world):
    admin = UserFactory(username="acme-admin")
    with tenant_context(world.tenant):
        Membership.objects.create(user=admin, role=Role.ADMIN)
    with pytest.raises(MemberError, match="只有所有者"):
        invite(world, role=Role.OWNER, by=admin)
    invite(world, role=Role.OWNER)  # the owner may


def test_signed_in_user_accepts_only_an_invitation_to_their_own_email(world, other_world):
    outsider = other_world.manager
    outsider.email = "globex.manager@example.com"
    outsider.save()
    wrong = invitation_by_token(token_of(invite(world, email="someone@example.com")))
    right = invitation_by_token(token_of(invite(world, email="globex.manager@example.com")))
    with tenant_context(world.tenant):
        with pytest.raises(MemberError, match="请使用该邮箱的账号"):
            invitation_accept(invitation=wrong, user=outsider)
        assert invitation_accept(invitation=right, user=outsider).role == Role.AGENT


# --- changes, the last owner, deactivation ---------------------------------------------------


def test_role_and_scope_change_is_audited_with_before_and_after(world):
    agent = member(world.agent, world.tenant)
    with tenant_context(world.tenant):
        membership_update(
            membership=agent, role=Role.CX_MANAGER, org_unit=world.region, by=owner_of(world)
        )
        event = AuditEvent.objects.get(action="member.update")
    assert event.before["role"] == Role.AGENT and event.after["role"] == Role.CX_MANAGER
    assert event.after["org_unit"] == world.region.pk


def test_last_owner_cannot_be_demoted_or_deactivated(world):
    owner = owner_of(world)
    membership = member(owner, world.tenant)
    with tenant_context(world.tenant):
        with pytest.raises(MemberError, match="最后一位所有者"):
            membership_update(membership=membership, role=Role.ADMIN, org_unit=None, by=owner)
        with pytest.raises(MemberError, match="最后一位所有者"):
            membership_deactivate(membership=membership, by=owner)
        second = UserFactory(username="acme-owner2")
        Membership.objects.create(user=second, role=Role.OWNER)
        membership_update(membership=membership, role=Role.ADMIN, org_unit=None, by=owner)
    assert member(owner, world.tenant).role == Role.ADMIN


def test_admin_cannot_change_an_owner(world):
    admin = UserFactory(username="acme-admin")
    with tenant_context(world.tenant):
        Membership.objects.create(user=admin, role=Role.ADMIN)
        owner_membership = member(owner_of(world), world.tenant)
        with pytest.raises(MemberError, match="只有所有者"):
            membership_deactivate(membership=owner_membership, by=admin)


def test_deactivated_member_is_shut_out_and_their_tickets_go_back_to_the_queue(client, world):
    submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant):
        ticket = Ticket.objects.get()
        ticket.assignee, ticket.status = world.agent, TicketStatus.IN_PROGRESS
        ticket.save()
    assert client.login(username=world.agent.username, password=PASSWORD)
    home = reverse("ticket_queue", kwargs={"tenant_slug": world.tenant.slug})
    assert client.get(home).status_code == 200

    with tenant_context(world.tenant):
        membership_deactivate(membership=member(world.agent, world.tenant), by=owner_of(world))
        ticket.refresh_from_db()
        history = list(ticket.events.values_list("kind", "note"))
    assert (ticket.assignee, ticket.status) == (None, TicketStatus.OPEN)
    assert any("退回队列" in note for _kind, note in history)
    assert client.get(home).status_code == 404
    assert world.tenant.name not in client.get(reverse("home"), follow=True).content.decode()
    assert member(world.agent, world.tenant).deactivated_at is not None  # history kept
    assert "member.deactivate" in audit_actions(world)


def test_deactivated_member_may_be_invited_again(world):
    with tenant_context(world.tenant):
        membership_deactivate(membership=member(world.agent, world.tenant), by=owner_of(world))
    world.agent.email = "agent@example.com"
    world.agent.save()
    invitation = invitation_by_token(token_of(invite(world, email="agent@example.com")))
    with tenant_context(world.tenant):
        invitation_accept(invitation=invitation, user=world.agent)
    assert member(world.agent, world.tenant).is_active


# --- pages ---------------------------------------------------------------------------------


def url(world, name, **kwargs):
    return reverse(name, kwargs={"tenant_slug": world.tenant.slug, **kwargs})


def test_owner_invites_on_the_members_page_and_sees_refusals_in_chinese(client, world):
    client.force_login(owner_of(world))
    page = url(world, "members")
    data = {"email": "li@example.com", "role": Role.AGENT, "org_unit": world.branch.pk}
    reply = client.post(page, data)
    assert reply.status_code == 200 and "/invite/" in reply.content.decode()
    again = client.post(page, data)
    assert again.status_code == 400 and "已向 li@example.com 发出邀请" in again.content.decode()
    bad = client.post(page, {**data, "email": "bad@"})
    assert bad.status_code == 400 and "请输入有效的邮箱地址" in bad.content.decode()


def test_scope_of_another_tenant_is_refused_on_the_page(client, world, other_world):
    client.force_login(owner_of(world))
    reply = client.post(
        url(world, "members"),
        {"email": "li@example.com", "role": Role.AGENT, "org_unit": other_world.branch.pk},
    )
    assert reply.status_code == 400 and "所选组织单元不属于本租户" in reply.content.decode()
    with tenant_context(world.tenant):
        assert not MemberInvitation.objects.exists()


def test_last_owner_demotion_is_refused_on_the_page_in_chinese(client, world):
    owner = owner_of(world)
    client.force_login(owner)
    membership = member(owner, world.tenant)
    reply = client.post(
        url(world, "member_edit", membership_id=membership.pk), {"role": Role.ADMIN}
    )
    assert reply.status_code == 400 and "不能降级最后一位所有者" in reply.content.decode()
    assert member(owner, world.tenant).role == Role.OWNER


def test_invite_link_page_makes_an_account_and_signs_in(client, world):
    issued = invite(world)
    page = client.get(issued.url)
    assert page.status_code == 200 and "new.agent@example.com" in page.content.decode()
    mismatch = client.post(
        issued.url, {"name": "王五", "password1": NEW_PASSWORD, "password2": "other-pass-1"}
    )
    assert mismatch.status_code == 400 and "两次输入的密码不一致" in mismatch.content.decode()
    reply = client.post(
        issued.url, {"name": "王五", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert reply["Location"] == url(world, "tenant_home")
    assert client.get(url(world, "ticket_queue")).status_code == 200
    client.logout()
    used = client.get(issued.url)
    assert used.status_code == 404 and "此邀请链接已被使用" in used.content.decode()


@pytest.mark.parametrize("who", ["viewer", "agent", "manager"])
def test_roles_without_member_manage_are_refused_every_member_write(client, world, who):
    issued = invite(world)
    client.force_login(getattr(world, who))
    agent = member(world.agent, world.tenant)
    with tenant_context(world.tenant):
        invitation = MemberInvitation.objects.get()
    writes = [
        (url(world, "members"), {"email": "x@example.com", "role": Role.AGENT}),
        (url(world, "member_edit", membership_id=agent.pk), {"role": Role.VIEWER}),
        (url(world, "member_deactivate", membership_id=agent.pk), {}),
        (url(world, "invitation_revoke", invitation_id=invitation.pk), {}),
        (url(world, "onboarding"), {}),
    ]
    for path, data in writes:
        assert client.post(path, data).status_code == 403, path
    assert client.get(url(world, "members")).status_code == 403
    assert member(world.agent, world.tenant).is_active and issued.invitation.revoked_at is None


def test_password_change_and_reset_through_email(client, world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    world.agent.email = "agent@example.com"
    world.agent.save()
    client.force_login(world.agent)
    changed = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert changed["Location"] == reverse("password_change_done")
    client.logout()

    sent = client.post(reverse("password_reset"), {"email": "agent@example.com"})
    assert sent["Location"] == reverse("password_reset_done")
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+/)", mail.outbox[-1].body)
    form = client.get(link.group(1), follow=True)
    assert "设置新密码" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Reset-pass-99", "new_password2": "Reset-pass-99"},
    )
    assert done["Location"] == reverse("password_reset_complete")
    world.agent.refresh_from_db()
    assert world.agent.check_password("Reset-pass-99")


def test_invitation_page_is_rate_limited(client, world, settings):
    settings.CEM_PUBLIC_FORM_RATE = 3
    statuses = [client.post("/invite/nope/", {}).status_code for _ in range(5)]
    assert statuses[:3] == [404, 404, 404] and statuses[-1] == 429


def test_refusals_are_in_english_when_asked(client, world):
    client.force_login(owner_of(world))
    # The middleware leaves English active in this thread: restore the language after.
    with translation.override(settings.LANGUAGE_CODE):
        reply = client.post(
            url(world, "members"), {"email": "bad@", "role": Role.AGENT}, HTTP_ACCEPT_LANGUAGE="en"
        )
    assert reply.status_code == 400 and "Enter a valid email address." in reply.content.decode()


def test_a_deactivated_unit_is_no_scope_for_new_invitations(world):
    with tenant_context(world.tenant):
        world.other_branch.is_active = False
        world.other_branch.save(update_fields=["is_active"])
    with pytest.raises(MemberError, match="已停用"):
        invite(world, org_unit=world.other_branch)
