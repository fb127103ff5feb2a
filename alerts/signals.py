"""Signals of alerts, for other apps to act on tickets without alerts knowing them."""

from django.dispatch import Signal

# Sent after the transaction that wrote them commits, with `event_ids`: TicketEvent ids (of the
# current tenant) that someone may need to hear about. An escalation event names the member it
# reached in `to_user`.
ticket_events_created = Signal()
