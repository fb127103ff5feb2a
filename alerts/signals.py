"""Signals of alerts, for other apps to act on tickets without alerts knowing them."""

from django.dispatch import Signal

# Sent after the transaction that wrote them commits, with `tenant_id` and `event_ids`: ids of
# that tenant's TicketEvents that someone may need to hear about (a receiver reads them in
# tenant_context). An escalation event names the member it reached in `to_user`.
ticket_events_created = Signal()
