"""Signals of analytics, for the apps that depend on it (alerts listens to them)."""

from django.dispatch import Signal

# Sent inside the transaction that saved the scores of a scoring batch, one tenant's at a time
# (kwargs: scores, the ResponseScores with their response); each receiver returns what it adds
# to the metric rollups of these responses, counted in the batch's one upsert: {response id:
# {(metric, key): analytics.metric_rollups.Totals}} (alerts: the tickets it opened).
responses_scored = Signal()

# Sent while a tenant's metric rollups are recounted; each receiver returns what it adds to
# them: {response id: {(metric, key): analytics.metric_rollups.Totals}} (alerts: one ticket
# per response that has one).
metric_rollups_recounting = Signal()

# Sent inside the transaction that saved the analysis of a batch of one tenant's external posts
# (kwargs: posts, the ExternalPosts analysed); alerts opens or joins their tickets.
external_posts_analyzed = Signal()

# Sent after the commit of a detection that raised metric alerts (kwargs: alert_ids); the
# notifications app tells each alert's owner.
metric_alerts_raised = Signal()
