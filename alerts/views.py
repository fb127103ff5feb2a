"""The frontline workbench: the ticket queue by SLA, and one ticket with its answers."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from alerts import selectors, services
from alerts.forms import TicketActionForm
from alerts.models import TicketStatus
from cem.access import require_permission, tenant_view
from surveys.definition import answer_display, iter_questions, localized


@tenant_view("ticket.view")
def ticket_queue(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in TicketStatus.values:
        status = ""
    tickets = selectors.ticket_list(
        scope_path=request.membership.scope_path, status=status, open_only=not status
    )[:200]
    return render(
        request,
        "alerts/ticket_queue.html",
        {"tickets": tickets, "status": status, "statuses": TicketStatus.choices},
    )


def _answer_rows(response, language: str) -> list[tuple[str, str]]:
    return [
        (
            localized(question.get("text"), language),
            answer_display(question, response.answers[key], language),
        )
        for question in iter_questions(response.version.definition)
        if (key := question["key"]) in response.answers
    ]


@tenant_view("ticket.view")
def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    tickets = selectors.ticket_list(scope_path=request.membership.scope_path).select_related(
        "response__version", "response__customer", "root_cause"
    )
    ticket = get_object_or_404(tickets, number=number)
    form = TicketActionForm(request.POST or None)
    if request.method == "POST":
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
            "response": ticket.response,
            "answers": _answer_rows(ticket.response, request.LANGUAGE_CODE),
            "events": selectors.ticket_events(ticket),
            "actions": [
                (name, services.TRANSITIONS[name].label)
                for name in services.transitions_available(ticket)
            ],
            "form": form,
            "root_causes": selectors.root_cause_list(),
        },
    )
