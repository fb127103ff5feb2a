"""The frontline workbench (the ticket queue by SLA, one ticket with its answers) and the
alert rules that open tickets: their list and their editor."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from alerts import exports, recovery, selectors, services
from alerts.escalation import escalation_chain
from alerts.forms import (
    AlertRuleEditor,
    FollowUpSettingsForm,
    SlaSettingsForm,
    TicketActionForm,
    TicketAnalyticsFilter,
    TicketBulkForm,
    TicketContactForm,
    TicketReassignForm,
    TicketRecoveryForm,
)
from alerts.models import AlertRule, TicketStatus
from alerts.recovery import follow_up_problem
from alerts.rules import conditions_describe
from alerts.sla import sla_clock_reader, sla_policy
from alerts.ticket_analytics import period_bounds
from alerts.ticket_analytics import ticket_analytics as ticket_analytics_read
from organizations.access import has_permission, require_permission, tenant_view
from organizations.business_hours import (
    CALENDAR,
    PUBLIC_HOLIDAY_YEARS,
    calendar_zone_name,
    default_calendar_document,
)
from organizations.members import membership_on_duty_set
from organizations.models import OrgUnit
from organizations.services import audit_record
from organizations.spreadsheets import csv_response, xlsx_response
from surveys.rendering import answer_rows

QUEUE_ROWS = 50  # the most urgent first; a page a phone can hold
QUEUE_PAGES_MAX = 10_000


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
    page = request.GET.get("page", "")
    page = int(page) if page.isdigit() and 0 < int(page) <= QUEUE_PAGES_MAX else 1
    tickets, more = selectors.tickets_page(
        selectors.ticket_list(
            scope_path=request.membership.scope_path,
            status=status,
            open_only=not status,
            escalated=escalated,
        ),
        page=page,
        per_page=QUEUE_ROWS,
    )
    clock = sla_clock_reader(request.tenant, now=timezone.now())
    bulk_form = None
    if has_permission(request.membership, "ticket.manage"):
        bulk_form = TicketBulkForm(
            assignees=selectors.ticket_workers(scope_path=request.membership.scope_path)
        )
    return render(
        request,
        "alerts/ticket_queue.html",
        {
            "rows": [(ticket, clock(ticket)) for ticket in tickets],
            "status": status,
            "escalated": escalated,
            "statuses": TicketStatus.choices,
            "bulk_form": bulk_form,
            "page": page,
            "more": more,
            "filter_query": _queue_query(request.GET).lstrip("?"),
        },
    )


@require_POST
@tenant_view("ticket.manage")
def ticket_bulk(request: HttpRequest) -> HttpResponse:
    """The queue's bulk actions on the tickets ticked (their ids): assign them to a member, or
    close them as duplicates of one ticket kept. All or nothing: a refusal changes nothing."""
    assignees = selectors.ticket_workers(scope_path=request.membership.scope_path)
    form = TicketBulkForm(
        request.POST,
        ticket_ids=[value for value in request.POST.getlist("tickets") if value.isdigit()],
        assignees=assignees,
    )
    back = redirect(
        reverse("ticket_queue", args=[request.tenant.slug]) + _queue_query(request.POST)
    )
    if not form.is_valid():
        messages.error(request, " ".join(m for errors in form.errors.values() for m in errors))
        return back
    data = form.cleaned_data
    try:
        if data["action"] == "assign":
            to = next((m.user for m in assignees if m.user_id == data["assignee"]), None)
            moved = services.tickets_bulk_assign(ticket_ids=data["tickets"], to=to, by=request.user)
            messages.success(request, _("已分派 %(count)d 张工单。") % {"count": len(moved)})
        else:
            closed = services.tickets_close_as_duplicate(
                ticket_ids=data["tickets"],
                duplicate_of_number=data["duplicate_of"],
                by=request.user,
            )
            messages.success(
                request,
                _("已将 %(count)d 张工单作为 #%(number)d 的重复工单关闭。")
                % {"count": len(closed), "number": data["duplicate_of"]},
            )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return back


def _queue_query(posted) -> str:
    """The queue filter the bulk form was posted from, to go back to it."""
    status = posted.get("status", "")
    if status in TicketStatus.values:
        return "?" + urlencode({"status": status})
    return "?escalated=1" if posted.get("escalated") == "1" else ""


def _analytics_scope(request: HttpRequest):
    """The period and org unit asked for in the URL, inside the viewer's scope: a unit outside
    it is refused (403), never widened to what the viewer may see. Returns (form, root unit)."""
    today = timezone.now().astimezone(ZoneInfo(request.tenant.time_zone)).date()
    form = TicketAnalyticsFilter(request.GET, today=today)
    root = request.membership.org_unit
    if form.is_valid() and form.cleaned_data["unit"]:
        unit = OrgUnit.objects.filter(pk=form.cleaned_data["unit"]).first()
        if unit is None:
            raise Http404("No such org unit")
        if not unit.path.startswith(request.membership.scope_path):
            raise PermissionDenied("This org unit is outside your scope.")
        root = unit
    return form, root


@tenant_view("ticket.manage")
def ticket_analytics(request: HttpRequest) -> HttpResponse:
    """Managers' figures of the tickets of a period and an org unit (their scope by default)."""
    form, root = _analytics_scope(request)
    figures = None
    if form.is_valid():
        figures = ticket_analytics_read(
            tenant=request.tenant,
            root=root,
            scope_path=request.membership.scope_path,
            start=form.cleaned_data["start"],
            end=form.cleaned_data["end"],
        )
    return render(
        request,
        "alerts/ticket_analytics.html",
        {
            "filter": form,
            "root": root,
            "figures": figures,
            "units": selectors.units_in_scope(request.membership.scope_path),
            "query": request.GET.urlencode(),
        },
    )


EXPORT_FORMATS = ("csv", "xlsx")


@tenant_view("ticket.manage")
def ticket_export(request: HttpRequest) -> HttpResponse:
    """The tickets of the analytics page's period and unit with their events, as CSV (one row
    per event) or Excel (a sheet of tickets, a sheet of events), streamed; audited."""
    form, root = _analytics_scope(request)
    kind = request.GET.get("format", "csv")
    if kind not in EXPORT_FORMATS or not form.is_valid():
        messages.error(request, _("导出参数有误：请检查日期与格式。"))
        return redirect("ticket_analytics", tenant_slug=request.tenant.slug)
    since, until = period_bounds(
        request.tenant, form.cleaned_data["start"], form.cleaned_data["end"]
    )
    scope = {
        "tenant": request.tenant,
        "scope_path": root.path if root is not None else request.membership.scope_path,
        "since": since,
        "until": until,
    }
    audit_record(
        by=request.user,
        action="ticket.export",
        target=request.tenant,
        after={
            "format": kind,
            "unit": root.code if root is not None else "",
            "start": str(form.cleaned_data["start"]),
            "end": str(form.cleaned_data["end"]),
        },
    )
    name = f"tickets-{form.cleaned_data['start']}-{form.cleaned_data['end']}"
    if kind == "csv":
        return csv_response(exports.ticket_export_lines(**scope), filename=f"{name}.csv")
    return xlsx_response(exports.ticket_export_sheets(**scope), filename=f"{name}.xlsx")


@tenant_view("sla.manage")
def follow_up_settings(request: HttpRequest) -> HttpResponse:
    """The follow-up survey a customer can be sent when a ticket closes: owners and admins."""
    survey_id, channel = recovery.follow_up_setting(request.tenant)
    form = FollowUpSettingsForm(
        request.POST or None, initial={"survey": survey_id, "channel": channel}
    )
    if request.method == "POST" and form.is_valid():
        try:
            recovery.follow_up_settings_update(
                tenant=request.tenant,
                survey=form.cleaned_data["survey"],
                channel=form.cleaned_data["channel"],
                by=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("回访问卷设置已保存。"))
            return redirect("follow_up_settings", tenant_slug=request.tenant.slug)
    return render(request, "alerts/follow_up_settings.html", {"form": form})


@tenant_view("ticket.view")
def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    """One ticket: the customer's feedback, the clock, the history, and (for those who work
    tickets) its forms, each posting its own `action`: a note or a transition, a reassignment,
    a contact with the customer, a recovery action."""
    tickets = selectors.ticket_list(scope_path=request.membership.scope_path).select_related(
        "response__version", "response__customer", "root_cause", "duplicate_of"
    )
    ticket = get_object_or_404(tickets, number=number)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    assignees = services.ticket_assignees(ticket)
    forms = {
        "form": TicketActionForm(
            request.POST if action not in ("reassign", "contact", "recovery") and action else None,
            root_cause_id=ticket.root_cause_id,
        ),
        "reassign_form": TicketReassignForm(
            request.POST if action == "reassign" else None, assignees=assignees
        ),
        "contact_form": TicketContactForm(request.POST if action == "contact" else None),
        "recovery_form": TicketRecoveryForm(request.POST if action == "recovery" else None),
    }
    if action:
        require_permission(request.membership, "ticket.work")
        posted = forms[
            {
                "reassign": "reassign_form",
                "contact": "contact_form",
                "recovery": "recovery_form",
            }.get(action, "form")
        ]
        if posted.is_valid():
            try:
                done = _ticket_act(request, ticket, action, posted.cleaned_data, assignees)
            except ValidationError as error:
                posted.add_error(None, error)
            else:
                messages.success(request, done)
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
            "closing": "close" in services.transitions_available(ticket),
            "follow_up_problem": follow_up_problem(ticket),
            "root_causes": selectors.root_cause_list(),
            **forms,
        },
    )


def _ticket_act(request: HttpRequest, ticket, action: str, data: dict, assignees) -> str:
    """Call the service the posted form asks for; returns the message to show."""
    if action == "reassign":
        to = next(m.user for m in assignees if m.user_id == data["assignee"])
        services.ticket_reassign(ticket=ticket, to=to, reason=data["reason"], by=request.user)
        return _("已改派。")
    if action == "contact":
        recovery.ticket_contact_log(
            ticket=ticket,
            channel=data["channel"],
            outcome=data["outcome"],
            note=data["note"],
            by=request.user,
        )
        return _("已记录客户联系。")
    if action == "recovery":
        recovery.ticket_recovery_record(
            ticket=ticket, kind=data["kind"], cost=data["cost"], note=data["note"], by=request.user
        )
        return _("已记录补救措施。")
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
            follow_up=data["follow_up"],
        )
    return _("已保存。")


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
