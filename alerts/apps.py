from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"

    def ready(self) -> None:
        from alerts.models import Ticket
        from alerts.services import (
            alert_defaults_install,
            tickets_metric_totals,
            tickets_open_for_scores,
        )
        from analytics.signals import metric_rollups_recounting, responses_scored
        from organizations.signals import tenant_created

        def open_tickets(sender, scores, **kwargs):
            opened = tickets_open_for_scores(scores=scores)
            return tickets_metric_totals(opened)

        def install_defaults(sender, tenant, **kwargs):
            alert_defaults_install()

        def count_tickets(sender, tenant, **kwargs):
            return tickets_metric_totals(Ticket.objects.only("response_id"))

        responses_scored.connect(open_tickets, weak=False, dispatch_uid="tickets-on-score")
        tenant_created.connect(
            install_defaults, weak=False, dispatch_uid="alert-defaults-on-tenant"
        )
        metric_rollups_recounting.connect(
            count_tickets, weak=False, dispatch_uid="tickets-in-metric-rollups"
        )
