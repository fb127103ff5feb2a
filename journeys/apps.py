from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "journeys"

    def ready(self) -> None:
        from journeys.models import Journey, Stage, Touchpoint
        from organizations.config_version import tenant_config_watch

        # A submission routes by its touchpoint, and the dashboards read the catalogue of
        # touchpoints with their stages and journeys: kept by each process until they change.
        tenant_config_watch(Journey, Stage, Touchpoint)
