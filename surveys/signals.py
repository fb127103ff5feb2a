"""Signals of surveys, for the apps that depend on it (analytics listens to them)."""

from django.dispatch import Signal

# Sent once a complete response is saved (in a transaction only where the completion wrote
# more than its row); kwargs: response. Receivers schedule work with transaction.on_commit.
response_submitted = Signal()
