"""The frontline workbench (the ticket queue by SLA, one ticket with its answers) and the
alert rules that open tickets: their list and their editor."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from alerts import selectors, services
from alerts.escalation import escalation_chain
from alerts.forms import AlertRuleEditor, SlaSettingsForm, TicketActionForm, TicketReassignForm
from alerts.models import AlertRule, TicketStatus
from alerts.rules import conditions_describe
from alerts.sla import sla_clock_reader, sla_policy
from organizations.access import require_permission, tenant_view
from organizations.business_hours import (
    CALENDAR,
    PUBLIC_HOLIDAY_YEARS,
    calendar_zone_name,
    default_calendar_document,
)
from organizations.members import membership_on_duty_set
from surveys.rendering import answer_rows


@tenant_view("ticket.view")
def ticket_queue(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":  # an agent going on or off duty (automatic assignment)
        membership_on_duty_set(
            membership=request.membership,
            on_duty=request.POST.get("on_duty") == "1",
            by=request.user,
        )
        messages.success(request, _("已更新在岗状态。"))
        return redirect("ticket_queue", tenant_slug=request.tenant.slug)
    status = request.GET.get("status", "")
    if status not in TicketStatus.values:
        status = ""
    escalated = request.GET.get("escalated") == "1"
    tickets = selectors.ticket_list(
        scope_path=request.membership.scope_path,
        status=status,
        open_only=not status,
        escalated=escalated,
    )[:200]
    clock = sla_clock_reader(request.tenant, now=timezone.now())
    return render(
        request,
        "alerts/ticket_queue.html",
        {
            "rows": [(ticket, clock(ticket)) for ticket in tickets],
            "status": status,
            "escalated": escalated,
            "statuses": TicketStatus.choices,
        },
    )


@tenant_view("ticket.view")
def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    tickets = selectors.ticket_list(scope_path=request.membership.scope_path).select_related(
        "response__version", "response__customer", "root_cause"
    )
    ticket = get_object_or_404(tickets, number=number)
    reassigning = request.POST.get("action") == "reassign"
    form = TicketActionForm(None if reassigning else (request.POST or None))
    assignees = services.ticket_assignees(ticket)
    reassign_form = TicketReassignForm(request.POST if reassigning else None, assignees=assignees)
    if request.method == "POST" and reassigning:
        require_permission(request.membership, "ticket.work")
        if reassign_form.is_valid():
            to = next(
                m.user for m in assignees if m.user_id == reassign_form.cleaned_data["assignee"]
            )
            try:
                services.ticket_reassign(
                    ticket=ticket,
                    to=to,
                    reason=reassign_form.cleaned_data["reason"],
                    by=request.user,
                )
            except ValidationError as error:
                reassign_form.add_error(None, error)
            else:
                messages.success(request, _("已改派。"))
                return redirect("ticket_detail", tenant_slug=request.tenant.slug, number=number)
    elif request.method == "POST":
        require_permission(request.membership, "ticket.work")
        if form.is_valid():
            data = form.cleaned_data
            try:
                if data["action"] == "note":
                    services.ticket_note_add(ticket=ticket, by=request.user, note=data["note"])
                else:
                    services.ticket_transition(
                        ticket=ticket,
                        action=data["action"],
                        by=request.user,
                        note=data["note"],
                        root_cause=data["root_cause"],
                        resolution=data["resolution"],
                    )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("已保存。"))
                return redirect("ticket_detail", tenant_slug=request.tenant.slug, number=number)
    return render(
        request,
        "alerts/ticket_detail.html",
        {
            "ticket": ticket,
            "clock": sla_clock_reader(request.tenant, now=timezone.now())(ticket),
            "sla_zone": calendar_zone_name(request.tenant),
            "response": ticket.response,
            "post": ticket.external_post,
            "answers": answer_rows(ticket.response, request.LANGUAGE_CODE)
            if ticket.response_id
            else [],
            "events": selectors.ticket_events(ticket),
            "actions": [
                (name, services.TRANSITIONS[name].label)
                for name in services.transitions_available(ticket)
            ],
            "form": form,
            "reassign_form": reassign_form,
            "root_causes": selectors.root_cause_list(),
        },
    )


@tenant_view("ticket.view")
def alert_rule_list(request: HttpRequest) -> HttpResponse:
    """Every rule of the tenant in words, with the tickets it opened lately (in the member's
    subtree). Managers change them here; everyone else reads what raises a ticket."""
    since = timezone.now() - timedelta(days=selectors.RULE_TICKET_DAYS)
    rules = selectors.alert_rule_list(scope_path=request.membership.scope_path, since=since)
    fact_choices = selectors.rule_fact_choices()
    context = {
        "rules": [(rule, conditions_describe(rule.conditions, fact_choices)) for rule in rules],
        "days": selectors.RULE_TICKET_DAYS,
    }
    return render(request, "alerts/rule_list.html", context)


def _rule(rule_id: int) -> AlertRule:
    return get_object_or_404(AlertRule.objects.all(), pk=rule_id)


@tenant_view("alert_rule.manage")
def alert_rule_new(request: HttpRequest) -> HttpResponse:
    return _rule_editor(request, rule=None)


@tenant_view("alert_rule.manage")
def alert_rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    return _rule_editor(request, rule=_rule(rule_id))


def _rule_editor(request: HttpRequest, *, rule: AlertRule | None) -> HttpResponse:
    """The editor posts one of three actions: save, preview (test the unsaved conditions on
    recent responses) or add_row (one more condition row, for browsers without JavaScript)."""
    fact_choices = selectors.rule_fact_choices()
    action = request.POST.get("action", "save")
    editor = AlertRuleEditor(
        request.POST if request.method == "POST" else None,
        rule=rule,
        fact_choices=fact_choices,
        add_row=action == "add_row",
    )
    preview = None
    if request.method == "POST" and action in ("save", "preview") and editor.is_valid():
        if action == "preview":
            preview = selectors.alert_rule_preview(
                conditions=editor.conditions,
                scope_path=request.membership.scope_path,
                since=timezone.now() - timedelta(days=selectors.PREVIEW_DAYS),
            )
        else:
            try:
                if rule is None:
                    rule = services.alert_rule_create(
                        conditions=editor.conditions, by=request.user, **editor.settings
                    )
                else:
                    rule = services.alert_rule_update(
                        rule=rule, conditions=editor.conditions, by=request.user, **editor.settings
                    )
            except ValidationError as error:
                editor.form.add_error(None, ValidationError(error.messages))
            else:
                messages.success(request, _("预警规则「%(name)s」已保存。") % {"name": rule.name})
                return redirect("alert_rules", tenant_slug=request.tenant.slug)
    context = {
        "rule": rule,
        "editor": editor,
        "kept_conditions_text": (
            conditions_describe(editor.kept_conditions, fact_choices) if editor.nested else ""
        ),
        "has_tickets": rule is not None and rule.tickets.exists(),
        "preview": preview,
        "preview_days": selectors.PREVIEW_DAYS,
        "preview_scores": selectors.PREVIEW_SCORES,
    }
    return render(request, "alerts/rule_edit.html", context)


@require_POST
@tenant_view("alert_rule.manage")
def alert_rule_active(request: HttpRequest, rule_id: int) -> HttpResponse:
    """Switch a rule on (active=1) or off (active=0): the state is posted, so a resent form
    changes nothing."""
    rule = _rule(rule_id)
    is_active = request.POST.get("active") == "1"
    services.alert_rule_set_active(rule=rule, is_active=is_active, by=request.user)
    if is_active:
        messages.success(request, _("已启用规则「%(name)s」。") % {"name": rule.name})
    else:
        messages.success(request, _("已停用规则「%(name)s」。") % {"name": rule.name})
    return redirect("alert_rules", tenant_slug=request.tenant.slug)


@require_POST
@tenant_view("alert_rule.manage")
def alert_rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule(rule_id)
    try:
        services.alert_rule_delete(rule=rule, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("已删除规则「%(name)s」。") % {"name": rule.name})
    return redirect("alert_rules", tenant_slug=request.tenant.slug)


@tenant_view("sla.manage")
def sla_settings(request: HttpRequest) -> HttpResponse:
    """The tenant's working calendar and SLA targets: owners and admins change them here."""
    tenant = request.tenant
    document = tenant.settings.get(CALENDAR) or default_calendar_document()
    policy = sla_policy(tenant)
    form = SlaSettingsForm(
        request.POST or None,
        initial=SlaSettingsForm.initial_for(
            tenant=tenant, document=document, policy=policy, chain=escalation_chain(tenant)
        ),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.sla_settings_update(
                tenant=tenant,
                calendar=form.calendar_settings,
                targets=form.targets,
                by=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("工作日历与 SLA 已保存；新开工单按新设置计时。"))
            return redirect("sla_settings", tenant_slug=tenant.slug)
    return render(
        request,
        "alerts/sla_settings.html",
        {"form": form, "holiday_years": PUBLIC_HOLIDAY_YEARS},
    )
