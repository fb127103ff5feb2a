from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        from alerts.signals import ticket_events_created
        from analytics.signals import metric_alerts_raised
        from improvements.signals import projects_proposed
        from notifications.services import (
            notifications_for_metric_alerts,
            notifications_for_proposed_projects,
            notifications_for_ticket_events,
        )

        def notify(sender, event_ids, **kwargs):
            notifications_for_ticket_events(event_ids=event_ids)

        ticket_events_created.connect(
            notify, weak=False, dispatch_uid="notifications-on-ticket-events"
        )

        def notify_metric_alerts(sender, alert_ids, **kwargs):
            notifications_for_metric_alerts(alert_ids=alert_ids)

        metric_alerts_raised.connect(
            notify_metric_alerts, weak=False, dispatch_uid="notifications-on-metric-alerts"
        )

        def tell_managers(sender, project_ids, **kwargs):
            notifications_for_proposed_projects(project_ids=project_ids)

        projects_proposed.connect(
            tell_managers, weak=False, dispatch_uid="notifications-on-projects-proposed"
        )
