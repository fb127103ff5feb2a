"""Signals of improvements, for the apps that depend on it (notifications listens to them)."""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.dispatch import Signal

# Sent after the transaction that proposed projects has committed (kwargs: project_ids), so
# that receivers tell people outside it.
projects_proposed = Signal()


def projects_proposed_on_commit(project_ids: list[int]) -> None:
    """Send projects_proposed for `project_ids` once the current transaction commits; a
    receiver that fails is logged and does not undo the proposal (robust)."""
    if project_ids:
        transaction.on_commit(
            partial(projects_proposed.send, sender=None, project_ids=list(project_ids)),
            robust=True,
        )
