from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"

    def ready(self) -> None:
        from django.db import transaction

        from analytics.services import response_enqueue_scoring
        from surveys.signals import response_submitted

        def enqueue_after_commit(sender, response, **kwargs):
            transaction.on_commit(lambda: response_enqueue_scoring(response_id=response.pk))

        response_submitted.connect(enqueue_after_commit, weak=False, dispatch_uid="score-on-submit")
