from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        from alerts.signals import ticket_events_created
        from notifications.services import notifications_for_ticket_events

        def notify(sender, event_ids, **kwargs):
            notifications_for_ticket_events(event_ids=event_ids)

        ticket_events_created.connect(
            notify, weak=False, dispatch_uid="notifications-on-ticket-events"
        )

        from improvements.signals import projects_proposed
        from notifications.services import notifications_for_proposed_projects

        def tell_managers(sender, project_ids, **kwargs):
            notifications_for_proposed_projects(project_ids=project_ids)

        projects_proposed.connect(
            tell_managers, weak=False, dispatch_uid="notifications-on-projects-proposed"
        )
