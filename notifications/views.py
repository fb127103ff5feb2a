"""The notification centre: a member's notifications, opening one, marking them read."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from notifications import selectors, services
from organizations.access import tenant_view

CENTRE_SIZE = 200


@tenant_view("ticket.view")
def notification_centre(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and request.POST.get("action") == "read_all":
        services.notifications_mark_all_read(user=request.user)
        return redirect("notification_centre", tenant_slug=request.tenant.slug)
    notifications = selectors.notification_list(user=request.user)[:CENTRE_SIZE]
    return render(request, "notifications/centre.html", {"notifications": notifications})


@require_POST
@tenant_view("ticket.view")
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark it read; with `open`, go on to its ticket (the notification's deep link)."""
    notification = get_object_or_404(
        selectors.notification_list(user=request.user), pk=notification_id
    )
    services.notification_mark_read(user=request.user, notification_id=notification.pk)
    if request.POST.get("open"):
        return redirect(
            "ticket_detail", tenant_slug=request.tenant.slug, number=notification.ticket.number
        )
    return redirect("notification_centre", tenant_slug=request.tenant.slug)
