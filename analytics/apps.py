from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"

    def ready(self) -> None:
        from django.db import transaction

        from analytics.kept_pages import kept_pages_inputs_watch
        from analytics.services import response_enqueue_scoring
        from analytics.tasks import rebuild_metric_rollups
        from organizations.broker import publish
        from organizations.signals import org_units_moved
        from surveys.signals import response_submitted

        def enqueue_after_commit(sender, response, **kwargs):
            transaction.on_commit(lambda: response_enqueue_scoring(response_id=response.pk))

        response_submitted.connect(enqueue_after_commit, weak=False, dispatch_uid="score-on-submit")

        def recount_subtrees(sender, tenant, unit_ids, **kwargs):
            # The metric rollups count each response in its unit's ancestors, which a move
            # changed: recount the tenant's (sent after commit; minutes at a million responses).
            publish(rebuild_metric_rollups, tenant.pk)

        org_units_moved.connect(recount_subtrees, weak=False, dispatch_uid="metric-rollups-on-move")

        kept_pages_inputs_watch()
