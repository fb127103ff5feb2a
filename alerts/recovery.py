"""Customer recovery on a ticket: the contacts an agent logs (call, visit, message) with their
outcome, the recovery actions with their cost, and the follow-up survey the customer is sent
at closing (at most one per ticket, sent after commit by the invitation machinery)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.history import ticket_event_add
from alerts.models import (
    RECOVERY_COST_MAX,
    ContactChannel,
    ContactOutcome,
    RecoveryKind,
    Ticket,
    TicketContact,
    TicketEvent,
    TicketRecovery,
)
from alerts.selectors import tickets_in_scope
from organizations.access import actor_require_permission, actor_scope_path
from organizations.models import Tenant
from organizations.services import Actor, audit_record
from organizations.tenancy import current_tenant
from surveys.distribution import invitation_schedule
from surveys.models import Channel, Invitation, Survey

NOTE_MAX = 2000
FOLLOW_UP = "follow_up"  # the key of Tenant.settings: {"survey_id": int, "channel": str}
FOLLOW_UP_CHANNELS = (Channel.SMS, Channel.EMAIL, Channel.WECHAT)


def _ticket_for_work(ticket: Ticket, *, by: Actor) -> Ticket:
    """The ticket locked, if the actor's role works tickets and its unit is in their scope."""
    actor_require_permission(by, "ticket.work")
    scope = actor_scope_path(by)
    found = tickets_in_scope(scope).select_for_update(of=("self",)).filter(pk=ticket.pk).first()
    if found is None:
        raise ValidationError(_("工单不存在或不在您的数据范围内。"))
    return found


def _note_clean(note: str) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX or "\x00" in note:
        raise ValidationError(_("说明最多 %(max)d 字。") % {"max": NOTE_MAX})
    return note


def _touched(ticket: Ticket, *, by: Actor) -> None:
    """Contacting the customer is acting on the ticket: its first response, if none yet."""
    now = timezone.now()
    ticket.updated_at = now
    fields = ["updated_at"]
    if ticket.first_responded_at is None and by is not None:
        ticket.first_responded_at = now
        fields.append("first_responded_at")
    ticket.save(update_fields=fields)


@transaction.atomic
def ticket_contact_log(
    *, ticket: Ticket, channel: str, outcome: str, note: str = "", by: Actor
) -> TicketContact:
    """Log a call, visit or message to the customer with its outcome, as a `contact` event."""
    if channel not in ContactChannel.values:
        raise ValidationError(
            _("联系方式应为：%(choices)s。") % {"choices": _labels(ContactChannel)}
        )
    if outcome not in ContactOutcome.values:
        raise ValidationError(
            _("联系结果应为：%(choices)s。") % {"choices": _labels(ContactOutcome)}
        )
    note = _note_clean(note)
    ticket = _ticket_for_work(ticket, by=by)
    _touched(ticket, by=by)
    text = _("%(channel)s：%(outcome)s") % {
        "channel": ContactChannel(channel).label,
        "outcome": ContactOutcome(outcome).label,
    }
    event = ticket_event_add(
        ticket, by=by, kind=TicketEvent.Kind.CONTACT, note=f"{text}。{note}" if note else text
    )
    return TicketContact.objects.create(
        ticket=ticket,
        event=event,
        channel=channel,
        outcome=outcome,
        note=note,
        by=event.actor_user,
        at=event.at,
    )


def recovery_cost(value: object) -> Decimal:
    """A recovery's cost in yuan: 0 to 99,999,999.99 with at most two decimals. Anything else
    (negative, not a number, NaN, infinite, more digits) is refused with one message."""
    refused = ValidationError(
        _("补救成本应为 0 到 %(max)s 元之间的金额，最多两位小数。") % {"max": RECOVERY_COST_MAX},
        code="cost",
    )
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise refused
    try:
        cost = Decimal(str(value).strip().replace(",", "") or "0")
    except InvalidOperation as error:
        raise refused from error
    if not cost.is_finite() or cost < 0 or cost > RECOVERY_COST_MAX:
        raise refused
    cents = cost.quantize(Decimal("0.01"))
    if cents != cost:  # more than two decimals ("1.100" is fine: it is 1.10)
        raise refused
    return cents


@transaction.atomic
def ticket_recovery_record(
    *, ticket: Ticket, kind: str, cost: object, note: str = "", by: Actor
) -> TicketRecovery:
    """Record a recovery action (fee waiver, gift, apology, other) and its cost in CNY, as a
    `recovery` event on the ticket and an audit row (it spends money)."""
    if kind not in RecoveryKind.values:
        raise ValidationError(_("补救措施应为：%(choices)s。") % {"choices": _labels(RecoveryKind)})
    amount = recovery_cost(cost)
    note = _note_clean(note)
    ticket = _ticket_for_work(ticket, by=by)
    _touched(ticket, by=by)
    text = _("%(kind)s，成本 ¥%(cost)s") % {"kind": RecoveryKind(kind).label, "cost": amount}
    event = ticket_event_add(
        ticket, by=by, kind=TicketEvent.Kind.RECOVERY, note=f"{text}。{note}" if note else text
    )
    recovery = TicketRecovery.objects.create(
        ticket=ticket,
        event=event,
        kind=kind,
        cost=amount,
        currency="CNY",
        note=note,
        by=event.actor_user,
        at=event.at,
    )
    audit_record(
        by=by,
        action="ticket.recovery",
        target=ticket,
        after={"kind": kind, "cost": str(amount), "currency": "CNY"},
    )
    return recovery


def _labels(choices) -> str:
    return "、".join(str(label) for label in choices.labels)


# --- the follow-up survey ----------------------------------------------------------------------


def follow_up_setting(tenant: Tenant) -> tuple[int | None, str]:
    """The tenant's follow-up survey id (None: not set) and channel."""
    stored = tenant.settings.get(FOLLOW_UP) or {}
    survey_id = stored.get("survey_id")
    if not isinstance(survey_id, int) or isinstance(survey_id, bool):
        survey_id = None
    channel = stored.get("channel")
    return survey_id, channel if channel in FOLLOW_UP_CHANNELS else Channel.SMS


def follow_up_survey(tenant: Tenant) -> Survey | None:
    """The published survey the tenant sends at closing, if one is set and still published."""
    survey_id, _channel = follow_up_setting(tenant)
    if survey_id is None:
        return None
    return Survey.objects.filter(pk=survey_id, status=Survey.Status.PUBLISHED).first()


@transaction.atomic
def follow_up_settings_update(
    *, tenant: Tenant, survey: Survey | None, channel: str, by: Actor
) -> Tenant:
    """Choose the survey (published, of this tenant; None: no follow-up) and channel of the
    follow-up sent at closing. Owners and admins, like the other ticket settings."""
    actor_require_permission(by, "sla.manage")
    if channel not in FOLLOW_UP_CHANNELS:
        raise ValidationError(_("未知渠道：%(channel)s") % {"channel": channel})
    if (
        survey is not None
        and not Survey.objects.filter(pk=survey.pk, status=Survey.Status.PUBLISHED).exists()
    ):
        raise ValidationError(_("回访问卷须为本租户已发布的问卷。"))
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = tenant.settings.get(FOLLOW_UP)
    document = {"survey_id": survey.pk if survey else None, "channel": channel}
    tenant.settings = {**tenant.settings, FOLLOW_UP: document}
    tenant.save(update_fields=["settings"])
    audit_record(by=by, action="tenant.follow_up", target=tenant, before=before, after=document)
    return tenant


def follow_up_problem(ticket: Ticket) -> str:
    """Why the ticket's customer cannot be sent the follow-up survey ("" when they can)."""
    if ticket.follow_up_invitation_id is not None:
        return _("这张工单已发送过回访问卷。")
    if follow_up_survey(current_tenant()) is None:
        return _("尚未设置回访问卷：请所有者或管理员在「回访问卷」设置中选择。")
    if ticket.response_id is None or ticket.response.customer_id is None:
        return _("这份反馈没有关联客户，无法发送回访问卷。")
    return ""


def follow_up_schedule(ticket: Ticket, *, by: Actor) -> TicketEvent:
    """Invite the ticket's customer to the tenant's follow-up survey, in the caller's
    transaction (the ticket row locked): the invitation is sent after commit by the invitation
    task, at most once (its delivery purpose), and a ticket gets one follow-up, whatever number
    of times it is closed. The contact policy still applies: a stopped invitation is kept with
    its reason, which the event states."""
    problem = follow_up_problem(ticket)
    if problem:
        raise ValidationError(problem)
    tenant = current_tenant()
    _survey_id, channel = follow_up_setting(tenant)
    invitation = invitation_schedule(
        survey=follow_up_survey(tenant),
        customer=ticket.response.customer,
        channel=channel,
        org_unit=ticket.org_unit,
        event_id=f"ticket:{ticket.pk}:follow_up",
    )
    Ticket.objects.filter(pk=ticket.pk).update(follow_up_invitation=invitation)
    ticket.follow_up_invitation = invitation
    if invitation.status == Invitation.Status.SUPPRESSED:
        note = _("回访问卷未发送：%(reason)s") % {
            "reason": invitation.get_suppressed_reason_display()
        }
    else:
        note = _("回访问卷「%(survey)s」将通过%(channel)s发送给客户。") % {
            "survey": invitation.survey.name,
            "channel": Channel(channel).label,
        }
    return ticket_event_add(ticket, by=by, kind=TicketEvent.Kind.FOLLOW_UP, note=note)
