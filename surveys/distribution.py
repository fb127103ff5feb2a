"""Personal invitations: triggered by events at touchpoints (or created directly), protected
by the tenant's contact policy, sent on a channel, reminded, and tracked to completion.

Every invitation the policy stops is kept with its reason; quiet hours postpone rather than
stop. Sending happens in Celery tasks (surveys/tasks.py) that call invitation_send, which is
safe to run twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from customers.models import ContactPolicy, Customer
from customers.services import customers_upsert, unsubscribe_token
from organizations.broker import publish
from organizations.conditions import (
    ConditionError,
    condition_match,
    condition_text,
    condition_validate,
)
from organizations.messaging import Message, deliver
from organizations.models import OutboundMessage
from organizations.services import Actor, audit_record
from organizations.tenancy import system_context, tenant_context
from surveys.definition import localized
from surveys.models import Channel, Invitation, Link, Survey, Trigger
from surveys.services import fields_check, survey_unavailable_reason

S = Invitation.Status
WHY = Invitation.Suppression


# --- triggers ----------------------------------------------------------------------------------


# What a trigger may test of the customer an event is about.
CUSTOMER_FACTS = ("tags",)


def _property_problem(name: Any) -> str | None:
    if isinstance(name, str) and name.strip():
        return None
    return _("属性条件须写明事件属性的名称。")


def _customer_problem(name: Any) -> str | None:
    if name in CUSTOMER_FACTS:
        return None
    return _("客户条件只能检查 %(facts)s。") % {"facts": "、".join(CUSTOMER_FACTS)}


def trigger_conditions_validate(conditions: Any) -> None:
    """A condition (organizations/conditions.py) over the event's properties and its customer:
    {"all": [{"property": "amount", "op": "gte", "value": 1000},
             {"customer": "tags", "op": "contains", "value": "vip"},
             {"not": {"customer": "tags", "op": "contains", "value": "staff"}}]}
    An empty object always matches."""
    if conditions in (None, {}):
        return
    try:
        condition_validate(
            conditions, subjects={"property": _property_problem, "customer": _customer_problem}
        )
    except ConditionError as error:
        raise ValidationError(str(error)) from error


def trigger_conditions_text(trigger: Trigger) -> str:
    """A trigger's condition as people read it: "amount ≥ 1000 且 客户标签 包含 vip"."""
    if not trigger.conditions:
        return ""
    return condition_text(
        trigger.conditions,
        lambda leaf: leaf["property"] if "property" in leaf else _("客户标签"),
    )


def trigger_matches(trigger: Trigger, *, properties: dict, tags: list[str]) -> bool:
    if not trigger.conditions:
        return True
    customer = {"tags": tags}
    return condition_match(
        trigger.conditions,
        lambda leaf: (
            properties.get(leaf["property"])
            if "property" in leaf
            else customer.get(leaf["customer"])
        ),
    )


def trigger_create(
    *,
    survey: Survey,
    event_type: str,
    touchpoint,
    channel: str,
    delay_minutes: int,
    conditions: dict,
    by: Actor,
) -> Trigger:
    trigger_conditions_validate(conditions)
    if channel not in Channel.values:
        raise ValidationError(_("未知渠道：%(channel)s") % {"channel": channel})
    if not event_type.strip():
        raise ValidationError(_("请填写事件类型，如 account.opened。"))
    trigger = Trigger(
        survey=survey,
        event_type=event_type.strip(),
        touchpoint=touchpoint,
        channel=channel,
        delay_minutes=delay_minutes,
        conditions=conditions or {},
    )
    fields_check(trigger, "event_type", "delay_minutes")
    trigger.save()
    audit_record(by=by, action="trigger.create", target=trigger, after={"event_type": event_type})
    return trigger


@transaction.atomic
def trigger_deactivate(*, trigger: Trigger, by: Actor) -> Trigger:
    trigger.is_active = False
    trigger.save(update_fields=["is_active"])
    audit_record(by=by, action="trigger.deactivate", target=trigger)
    return trigger


# --- the contact policy ------------------------------------------------------------------------


def contact_policy() -> ContactPolicy:
    policy = ContactPolicy.objects.first()
    return policy or ContactPolicy.objects.create()


def _recipient(customer: Customer, channel: str) -> str:
    return {
        Channel.EMAIL: customer.email,
        Channel.SMS: customer.mobile,
        Channel.WECHAT: customer.wechat_openid,
    }[channel]


def suppression_reason(
    invitation: Invitation, *, policy: ContactPolicy, now: datetime, reminder: bool = False
) -> str:
    """Why this invitation may not go out now ("" when it may). Reminders of an invitation
    already sent are not held back by the frequency rule."""
    customer = invitation.customer
    if customer.unsubscribed_at:
        return WHY.OPTED_OUT
    if not _recipient(customer, invitation.channel):
        return WHY.NO_CONTACT
    if invitation.expires_at and now >= invitation.expires_at:
        return WHY.EXPIRED
    if survey_unavailable_reason(survey=invitation.survey, link=invitation.link):
        return WHY.SURVEY_CLOSED
    if not reminder:
        window = now - timedelta(days=policy.min_days_between_invitations)
        recent = (
            Invitation.objects.filter(customer=customer)
            .exclude(pk=invitation.pk)
            .filter(
                Q(sent_at__gte=window)
                | Q(status=S.SCHEDULED, created_at__lt=invitation.created_at or now)
            )
        )
        if recent.exists():
            return WHY.FREQUENCY
    return ""


def after_quiet_hours(moment: datetime, policy: ContactPolicy, zone: ZoneInfo) -> datetime | None:
    """The end of the quiet hours `moment` falls in, or None when it is outside them."""
    local = moment.astimezone(zone)
    if not policy.in_quiet_hours(local.hour):
        return None
    end = local.replace(hour=policy.quiet_hours_end, minute=0, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end


# --- invitations -------------------------------------------------------------------------------


def invitation_schedule(
    *,
    survey: Survey,
    customer: Customer,
    channel: str,
    at: datetime | None = None,
    trigger: Trigger | None = None,
    event_id: str = "",
    touchpoint=None,
    org_unit=None,
    policy: ContactPolicy | None = None,
) -> Invitation:
    """Plan an invitation, or record at once why the contact policy stops it (`policy`: the
    tenant's, read once by a caller that plans many)."""
    policy = policy or contact_policy()
    now = timezone.now()
    at = at or now
    invitation = Invitation(
        survey=survey,
        customer=customer,
        channel=channel,
        trigger=trigger,
        event_id=event_id,
        touchpoint=touchpoint or survey.touchpoint,
        org_unit=org_unit,
        scheduled_at=at,
        expires_at=at + timedelta(days=policy.invitation_valid_days),
        created_at=now,
    )
    reason = suppression_reason(invitation, policy=policy, now=now)
    if reason:
        invitation.status = S.SUPPRESSED
        invitation.suppressed_reason = reason
        invitation.save()
        return invitation
    invitation.link = Link.objects.create(
        survey=survey,
        kind=Link.Kind.PERSONAL,
        customer=customer,
        touchpoint=invitation.touchpoint,
        org_unit=org_unit,
        expires_at=invitation.expires_at,
    )
    invitation.save()
    if at <= now:
        transaction.on_commit(lambda: invitation_enqueue(invitation_id=invitation.pk))
    return invitation


def invitation_enqueue(*, invitation_id: int) -> None:
    from surveys.tasks import send_invitation

    publish(send_invitation, invitation_id)


def public_url(path: str) -> str:
    return settings.CEM_PUBLIC_BASE_URL.rstrip("/") + path


def invitation_message(invitation: Invitation, *, reminder: bool = False) -> Message:
    survey, customer = invitation.survey, invitation.customer
    title = localized(survey.live_version.definition.get("title"), "zh-hans") or survey.name
    url = public_url(reverse("respond", args=[invitation.link.token]))
    unsubscribe = public_url(reverse("unsubscribe", args=[unsubscribe_token(customer)]))
    greeting = _("%(name)s您好，") % {"name": customer.name} if customer.name else _("您好，")
    lead = _("提醒：") if reminder else ""
    body = _(
        "%(lead)s%(greeting)s感谢您选择%(tenant)s。请花 1 分钟告诉我们您的体验：%(url)s "
        "不再接收请访问 %(unsubscribe)s"
    ) % {
        "lead": lead,
        "greeting": greeting,
        "tenant": invitation.tenant.name,
        "url": url,
        "unsubscribe": unsubscribe,
    }
    return Message(
        channel=invitation.channel,
        recipient=_recipient(customer, invitation.channel),
        subject=_("邀请您参与「%(title)s」") % {"title": title},
        body=body,
        data={"title": title, "url": url},
    )


# A send that started this long ago and never reported back is given up as unknown.
DELIVERY_UNKNOWN_AFTER = timedelta(minutes=15)
DELIVERY_UNKNOWN = _lazy("发送结果未知（发送进程中断），请与服务商核对后再决定是否重发。")


def _locked_invitation(invitation_id: int) -> Invitation:
    return (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("survey__live_version", "customer", "link", "tenant")
        .get(pk=invitation_id)
    )


def _delivery_purpose(invitation: Invitation, *, reminder: bool) -> str:
    """What a send is for, so that it is sent at most once: the invitation, or its n-th
    reminder."""
    if reminder:
        return f"invitation:{invitation.pk}:reminder:{invitation.reminders_sent + 1}"
    return f"invitation:{invitation.pk}"


def _send_due(invitation: Invitation, *, reminder: bool, now: datetime) -> bool:
    """Whether the locked invitation (or its reminder) is to be sent now; where the contact
    policy stops or postpones it, that is saved instead."""
    expected = S.SENT if reminder else S.SCHEDULED
    if invitation.status != expected or invitation.scheduled_at > now:
        return False
    policy = contact_policy()
    if reminder and (
        invitation.completed_at
        or invitation.reminders_sent >= policy.max_reminders
        or invitation.last_sent_at > now - timedelta(hours=policy.reminder_after_hours)
    ):
        return False
    reason = suppression_reason(invitation, policy=policy, now=now, reminder=reminder)
    if reason:
        if not reminder:  # for a reminder: the invitation itself went out; just no reminder
            invitation.status, invitation.suppressed_reason = S.SUPPRESSED, reason
            invitation.save(update_fields=["status", "suppressed_reason"])
        return False
    later = after_quiet_hours(now, policy, ZoneInfo(invitation.tenant.time_zone))
    if later is not None:
        if not reminder:  # a reminder waits for a later sweep
            invitation.scheduled_at = later
            invitation.save(update_fields=["scheduled_at"])
        return False
    return True


def invitation_send(*, invitation_id: int, reminder: bool = False) -> Invitation | None:
    """Send (or remind) one invitation if it is due and allowed; safe to run twice, and never
    sends twice.

    In three steps, so that the provider is called after commit and outside the row lock:
    under the invitation's lock, decide whether it goes out; send it (organizations.messaging
    .deliver: at most once per purpose, each attempt logged on its own); under the lock
    again, record what happened. Raises DeliveryError when the provider fails, so the task
    can retry.
    """
    with system_context():
        invitation = (
            Invitation.all_tenants.select_related("tenant").filter(pk=invitation_id).first()
        )
    if invitation is None:
        return None

    with tenant_context(invitation.tenant):
        with transaction.atomic():
            invitation = _locked_invitation(invitation_id)
            if not _send_due(invitation, reminder=reminder, now=timezone.now()):
                return invitation
            purpose = _delivery_purpose(invitation, reminder=reminder)
            message = invitation_message(invitation, reminder=reminder)
        logged = deliver(message, purpose=purpose)
        with transaction.atomic():
            invitation = _locked_invitation(invitation_id)
            recorded = (
                _delivery_purpose(invitation, reminder=True) != purpose
                if reminder
                else invitation.status != S.SCHEDULED
            )
            if recorded:
                return invitation  # another run recorded this send already
            if logged.status == OutboundMessage.Status.QUEUED:
                # Being sent by another run, or its process died while sending.
                if logged.created_at < timezone.now() - DELIVERY_UNKNOWN_AFTER and not reminder:
                    invitation.status, invitation.error = S.FAILED, str(DELIVERY_UNKNOWN)
                    invitation.save(update_fields=["status", "error"])
                return invitation
            now = timezone.now()
            if reminder:
                invitation.reminders_sent += 1
            else:
                invitation.status, invitation.sent_at = S.SENT, now
                invitation.delivered_at = logged.sent_at
            invitation.last_sent_at = now
            invitation.error = ""
            invitation.save()
        return invitation


def invitation_fail(*, invitation_id: int, error: str) -> None:
    with system_context():
        Invitation.all_tenants.filter(pk=invitation_id, status=S.SCHEDULED).update(
            status=S.FAILED, error=error[:2000]
        )


def invitations_due() -> tuple[list[int], list[int]]:
    """Across tenants: invitations due to be sent, and sent ones due a reminder."""
    with system_context():
        return _invitations_due(now=timezone.now())


def _invitations_due(*, now) -> tuple[list[int], list[int]]:
    due = list(
        Invitation.all_tenants.filter(status=S.SCHEDULED, scheduled_at__lte=now)
        .order_by("scheduled_at")
        .values_list("pk", flat=True)[:1000]
    )
    reminders = []
    policies = {policy.tenant_id: policy for policy in ContactPolicy.all_tenants.all()}
    candidates = Invitation.all_tenants.filter(
        status=S.SENT, completed_at__isnull=True, expires_at__gt=now
    ).values_list("pk", "tenant_id", "reminders_sent", "last_sent_at")[:5000]
    for pk, tenant_id, sent, last in candidates:
        policy = policies.get(tenant_id) or ContactPolicy()
        if sent < policy.max_reminders and last <= now - timedelta(
            hours=policy.reminder_after_hours
        ):
            reminders.append(pk)
    return due, reminders


def invitation_track(*, link: Link, stage: str) -> None:
    """Record that the invitation behind a personal link was opened or started (completion
    is recorded with the response, see services.response_complete)."""
    field = {"opened": "opened_at", "started": "started_at"}[stage]
    Invitation.objects.filter(link=link, **{f"{field}__isnull": True}).update(
        **{field: timezone.now()}
    )


def invitations_create(
    *, survey: Survey, people: list[dict], channel: str, by: Actor, at: datetime | None = None
) -> list[Invitation]:
    """Invite known customers directly (a list from the CRM): each person is upserted by
    their external id, then planned within the contact policy like a triggered invitation."""
    if channel not in Channel.values:
        raise ValidationError(_("未知渠道：%(channel)s") % {"channel": channel})
    with transaction.atomic():
        policy = contact_policy()
        invitations = [
            invitation_schedule(
                survey=survey, customer=customer, channel=channel, at=at, policy=policy
            )
            for customer in customers_upsert(people)
        ]
        audit_record(
            by=by,
            action="survey.invite",
            target=survey,
            after={"channel": channel, "count": len(invitations)},
        )
    return invitations
