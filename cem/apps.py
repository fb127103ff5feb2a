"""The project package as an app only for its migrations: the organisation core's tables were
made under this label (cem_tenant, ...) before they moved to organizations, which now owns
them; the history stays here so databases migrated before the move keep their record."""

from django.apps import AppConfig


class CemConfig(AppConfig):
    name = "cem"
    verbose_name = "CEM project"
