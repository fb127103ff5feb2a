"""Tenant scoping: the current tenant, the scoped manager every tenant-owned model uses, and
the system scope that lets named cross-tenant jobs past PostgreSQL's row-level security (the
middleware that sets the tenant for browser requests is organizations/middleware.py)."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from organizations.models import Tenant

_current_tenant: contextvars.ContextVar[Tenant | None] = contextvars.ContextVar(
    "current_tenant", default=None
)
# On PostgreSQL the database sees these two through organizations.db.postgresql (docs/security.md).
_system_scope: contextvars.ContextVar[bool] = contextvars.ContextVar("system_scope", default=False)


class TenantNotSetError(RuntimeError):
    """A tenant-scoped query ran with no current tenant: a bug, never a reason to show all rows."""


def current_tenant() -> Tenant:
    tenant = _current_tenant.get()
    if tenant is None:
        raise TenantNotSetError(
            "No current tenant. Wrap the code in tenant_context(tenant), "
            "or use Model.all_tenants in a system job."
        )
    return tenant


def current_tenant_or_none() -> Tenant | None:
    return _current_tenant.get()


def database_scope() -> tuple[int | None, bool]:
    """What row-level security lets the queries run now see: (tenant id, every tenant?)."""
    tenant = _current_tenant.get()
    return (None if tenant is None else tenant.pk, _system_scope.get())


@contextlib.contextmanager
def tenant_context(tenant: Tenant) -> Iterator[Tenant]:
    """Run a block with `tenant` as the current tenant; restores the previous one after.

    Inside a system_context it narrows the database back to this one tenant.
    """
    token = _current_tenant.set(tenant)
    system_token = _system_scope.set(False)
    try:
        yield tenant
    finally:
        _system_scope.reset(system_token)
        _current_tenant.reset(token)


@contextlib.contextmanager
def tenant_cleared() -> Iterator[None]:
    """No current tenant and no system scope in the block (each request starts so); the ones
    before are restored after it."""
    token = _current_tenant.set(None)
    system_token = _system_scope.set(False)
    try:
        yield
    finally:
        _system_scope.reset(system_token)
        _current_tenant.reset(token)


def tenant_activate(tenant: Tenant) -> None:
    """Make `tenant` current for the rest of this request; TenantMiddleware restores it."""
    _current_tenant.set(tenant)
    _system_scope.set(False)


@contextlib.contextmanager
def system_context() -> Iterator[None]:
    """Let a system job's queries reach every tenant's rows past row-level security.

    The one named way across tenants, for the lookups that find the tenant (a membership by
    user, an API key by prefix, a link by token), sweepers, migrations and the demo seeder.
    It changes nothing in the ORM: `Model.objects` still needs a tenant, `Model.all_tenants`
    is still the unscoped manager to use here.
    """
    token = _system_scope.set(True)
    try:
        yield
    finally:
        _system_scope.reset(token)


def each_active_tenant() -> Iterator[Tenant]:
    """Every active tenant in turn, current while the caller's loop body runs: how a beat job
    sweeps all tenants, each in its own context."""
    from organizations.models import Tenant

    with system_context():
        tenants = list(Tenant.objects.filter(is_active=True).order_by("pk"))
    for tenant in tenants:
        with tenant_context(tenant):
            yield tenant


class TenantQuerySet(models.QuerySet):
    pass


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Returns only the current tenant's rows; raises when no tenant is set."""

    def get_queryset(self) -> TenantQuerySet:
        return super().get_queryset().filter(tenant=current_tenant())


class TenantOwnedModel(models.Model):
    """Base of every tenant-owned model: `tenant` comes first and is filled from the context."""

    tenant = models.ForeignKey("organizations.Tenant", on_delete=models.CASCADE, related_name="+")

    objects = TenantManager()
    # Unscoped, for system jobs only. Related-object access uses Django's plain base manager.
    all_tenants = models.Manager()  # noqa: DJ012

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if self.tenant_id is None:
            self.tenant = current_tenant()
        super().save(*args, **kwargs)
