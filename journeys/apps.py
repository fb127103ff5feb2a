from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "journeys"

    def ready(self) -> None:
        from journeys.models import Touchpoint
        from organizations.config_version import tenant_config_watch

        # A submission routes by its touchpoint, kept by each process until it changes.
        tenant_config_watch(Touchpoint)
