from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"

    def ready(self) -> None:
        from organizations.config_version import tenant_config_watch
        from surveys.models import Link, Survey, SurveyVersion

        # What a submission resolves, kept by each process until one of them changes.
        tenant_config_watch(Survey, SurveyVersion)
        tenant_config_watch(Link, kept_if=lambda link: link.kind != Link.Kind.PERSONAL)
