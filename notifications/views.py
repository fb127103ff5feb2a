"""The notification centre: a member's notifications, opening one, marking them read; and
the member's own notification preferences."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from notifications import selectors, services
from notifications.forms import GroupRobotForm, NotificationPreferenceForm
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
    """Mark it read; with `open`, go on to its ticket, metric alert or project (the deep
    link)."""
    notification = get_object_or_404(
        selectors.notification_list(user=request.user), pk=notification_id
    )
    services.notification_mark_read(user=request.user, notification_id=notification.pk)
    if request.POST.get("open") and notification.metric_alert_id:
        return redirect(
            "metric_alert_detail",
            tenant_slug=request.tenant.slug,
            alert_id=notification.metric_alert_id,
        )
    if request.POST.get("open") and notification.project_id:
        return redirect(
            "improvement_project",
            tenant_slug=request.tenant.slug,
            project_id=notification.project_id,
        )
    if request.POST.get("open"):
        return redirect(
            "ticket_detail", tenant_slug=request.tenant.slug, number=notification.ticket.number
        )
    return redirect("notification_centre", tenant_slug=request.tenant.slug)


@tenant_view("ticket.view")
def notification_preferences(request: HttpRequest) -> HttpResponse:
    preference = selectors.notification_preference_of(user=request.user)
    form = NotificationPreferenceForm.of(preference, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.notification_preference_set(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("已保存通知设置。"))
            return redirect("notification_preferences", tenant_slug=request.tenant.slug)
    return render(request, "notifications/preferences.html", {"form": form})


@tenant_view("org.manage")
def group_robots(request: HttpRequest) -> HttpResponse:
    """The tenant's and its units' group robots: add one, or delete one."""
    form = GroupRobotForm(request.POST if request.POST.get("action") == "add" else None)
    if request.method == "POST" and request.POST.get("action") == "delete":
        robot = get_object_or_404(selectors.group_robot_list(), pk=request.POST.get("robot"))
        services.group_robot_delete(robot=robot, by=request.user)
        messages.success(request, _("已删除群机器人。"))
        return redirect("group_robots", tenant_slug=request.tenant.slug)
    if form.is_valid():
        try:
            services.group_robot_add(**form.cleaned_data, by=request.user)
        except ValidationError as error:
            for message in error.messages:
                form.add_error("webhook_url", message)
        else:
            messages.success(request, _("已添加群机器人。"))
            return redirect("group_robots", tenant_slug=request.tenant.slug)
    return render(
        request,
        "notifications/group_robots.html",
        {"form": form, "robots": selectors.group_robot_list()},
    )
