"""Signals of surveys, for the apps that depend on it (analytics listens to them)."""

from django.dispatch import Signal

# Sent inside the transaction that saved a complete response; kwargs: response.
response_submitted = Signal()
