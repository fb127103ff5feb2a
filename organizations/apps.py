"""The organisation core's app: the failed-login audit, the tenant guard after every migrate,
and the tenant configuration version its rows are kept under (organizations.config_version)."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OrganizationsConfig(AppConfig):
    name = "organizations"
    verbose_name = "Organisations"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from organizations.config_version import tenant_config_watch
        from organizations.login_throttle import login_failure_audit
        from organizations.models import ApiKey, AuditEvent, Membership, OrgUnit, Tenant

        user_login_failed.connect(
            login_failure_audit, dispatch_uid="organizations.login_failure_audit"
        )
        post_migrate.connect(tenant_guard_after_migrate, sender=self)
        # Every audited change too: that is how the services record their writes in bulk.
        tenant_config_watch(Tenant, ApiKey, OrgUnit, Membership, AuditEvent)


def tenant_guard_after_migrate(sender, using, **kwargs) -> None:
    """Every `migrate` (and test `flush`) re-applies the guard to tables added since cem.0003
    (the migration that first applied it, from when the core lived in cem)."""
    from django.apps import apps
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    from organizations.db.guard import GUARD_MIGRATION, tenant_guard_ensure

    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    if GUARD_MIGRATION not in MigrationRecorder(connection).applied_migrations():
        return
    tenant_guard_ensure(connection, apps)
