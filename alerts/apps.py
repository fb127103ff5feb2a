from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"

    def ready(self) -> None:
        from alerts.services import ticket_open_for_score
        from analytics.signals import response_scored

        def open_tickets(sender, score, **kwargs):
            ticket_open_for_score(score=score)

        response_scored.connect(open_tickets, weak=False, dispatch_uid="tickets-on-score")
