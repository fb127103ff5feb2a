from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"

    def ready(self) -> None:
        from alerts.services import (
            alert_defaults_install,
            ticket_open_for_score,
            tickets_metric_totals,
        )
        from analytics.signals import metric_rollups_recounting, response_scored
        from organizations.signals import tenant_created

        def open_tickets(sender, score, **kwargs):
            ticket_open_for_score(score=score)

        def install_defaults(sender, tenant, **kwargs):
            alert_defaults_install()

        def count_tickets(sender, tenant, **kwargs):
            return tickets_metric_totals()

        response_scored.connect(open_tickets, weak=False, dispatch_uid="tickets-on-score")
        tenant_created.connect(
            install_defaults, weak=False, dispatch_uid="alert-defaults-on-tenant"
        )
        metric_rollups_recounting.connect(
            count_tickets, weak=False, dispatch_uid="tickets-in-metric-rollups"
        )
