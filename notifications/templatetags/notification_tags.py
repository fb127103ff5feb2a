"""The delivery log on the ticket page, which belongs to alerts: this app sits above it."""

from django import template

from notifications.models import ROBOT_CHANNELS
from notifications.selectors import ticket_deliveries

register = template.Library()


@register.inclusion_tag("notifications/_delivery_log.html")
def ticket_delivery_log(ticket) -> dict:
    return {"deliveries": list(ticket_deliveries(ticket_id=ticket.pk)), "robots": ROBOT_CHANNELS}
