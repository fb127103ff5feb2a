"""Signals of analytics, for the apps that depend on it (alerts listens to them)."""

from django.dispatch import Signal

# Sent inside the transaction that saved a response's score; kwargs: score.
response_scored = Signal()

# Sent while a tenant's metric rollups are recounted; each receiver returns what it adds to
# them: {response id: {(metric, key): analytics.metric_rollups.Totals}} (alerts: one ticket
# per response that has one).
metric_rollups_recounting = Signal()
