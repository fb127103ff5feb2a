"""Signals of analytics, for the apps that depend on it (alerts listens to them)."""

from django.dispatch import Signal

# Sent inside the transaction that saved a response's score; kwargs: score.
response_scored = Signal()
