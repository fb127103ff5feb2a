"""Signals of alerts, for the apps that depend on it (notifications listens to them)."""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.dispatch import Signal

# Sent after the transaction that created ticket events has committed (kwargs: event_ids, the
# TicketEvent ids), so that receivers may send outside it and outside its row locks. An
# escalation event names the member it reached in `to_user`.
ticket_events_created = Signal()


def ticket_events_created_on_commit(event_ids: list[int]) -> None:
    """Send ticket_events_created for `event_ids` once the current transaction commits; a
    receiver that fails is logged and does not undo the committed work (robust)."""
    if event_ids:
        transaction.on_commit(
            partial(ticket_events_created.send, sender=None, event_ids=list(event_ids)),
            robust=True,
        )
