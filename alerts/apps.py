from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"

    def ready(self) -> None:
        from alerts.models import Ticket
        from alerts.services import (
            alert_defaults_install,
            tickets_metric_totals,
            tickets_open_for_external_posts,
            tickets_open_for_scores,
            tickets_return_to_queue,
        )
        from analytics.signals import (
            external_posts_analyzed,
            metric_rollups_recounting,
            responses_scored,
        )
        from organizations.signals import member_deactivated, tenant_created

        def open_tickets(sender, scores, **kwargs):
            opened = tickets_open_for_scores(scores=scores)
            return tickets_metric_totals(opened)

        def open_post_tickets(sender, posts, **kwargs):
            tickets_open_for_external_posts(posts=posts)

        def install_defaults(sender, tenant, **kwargs):
            alert_defaults_install()

        def release_tickets(sender, membership, by, **kwargs):
            tickets_return_to_queue(assignee=membership.user, by=by)

        def count_tickets(sender, tenant, **kwargs):
            return tickets_metric_totals(Ticket.objects.only("response_id"))

        responses_scored.connect(open_tickets, weak=False, dispatch_uid="tickets-on-score")
        external_posts_analyzed.connect(
            open_post_tickets, weak=False, dispatch_uid="tickets-on-external-post"
        )
        tenant_created.connect(
            install_defaults, weak=False, dispatch_uid="alert-defaults-on-tenant"
        )
        member_deactivated.connect(
            release_tickets, weak=False, dispatch_uid="tickets-back-to-queue-on-deactivate"
        )
        metric_rollups_recounting.connect(
            count_tickets, weak=False, dispatch_uid="tickets-in-metric-rollups"
        )
