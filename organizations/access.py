"""Who may do what: one table of permissions per role, and the checks views and services call."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied

from organizations.models import ApiKey, Membership, Role

_EVERYONE = frozenset(Role.values)
_MANAGERS = frozenset({Role.OWNER, Role.ADMIN, Role.CX_MANAGER})

PERMISSIONS: dict[str, frozenset[str]] = {
    "journey.view": _EVERYONE,
    "journey.manage": _MANAGERS,
    "survey.view": _MANAGERS | {Role.VIEWER},
    "survey.manage": _MANAGERS,
    "dashboard.view": _EVERYONE,
    "ticket.view": _EVERYONE,
    "ticket.work": _MANAGERS | {Role.AGENT},
    # Managers' view of the tickets: the analytics page, bulk actions, exports.
    "ticket.manage": _MANAGERS,
    # Responses as a file (answers, customer ids, verbatims): what a viewer only reads on screen.
    "response.export": _MANAGERS,
    # The dashboard as a PDF or Excel report: aggregates only (no customer ids or verbatims),
    # what a viewer reads on screen and forwards; agents work tickets, not reports.
    "report.download": _MANAGERS | {Role.VIEWER},
    "report_schedule.manage": _MANAGERS,
    "alert_rule.manage": _MANAGERS,
    "external_post.manage": _MANAGERS,
    "apikey.manage": frozenset({Role.OWNER, Role.ADMIN}),
    "member.manage": frozenset({Role.OWNER, Role.ADMIN}),
    "org.manage": frozenset({Role.OWNER, Role.ADMIN}),
    "sla.manage": frozenset({Role.OWNER, Role.ADMIN}),
    "root_cause.manage": _MANAGERS,
    "improvement.manage": _MANAGERS,
    "metric_alert.manage": _MANAGERS,
}


def has_permission(membership: Membership, permission: str) -> bool:
    return membership.role in PERMISSIONS[permission]


def require_permission(membership: Membership, permission: str) -> None:
    if not has_permission(membership, permission):
        raise PermissionDenied(f"Your role may not do this ({permission}).")


def actor_require_permission(by: AbstractBaseUser | ApiKey | None, permission: str) -> None:
    """For services: refuse a person whose membership of the current tenant lacks `permission`.

    API keys (issued by owners and admins) and system jobs (`by=None`) act for the tenant as a
    whole and have no role; the views and API views that let them in decide for them.
    """
    if not isinstance(by, AbstractBaseUser):
        return
    membership = Membership.objects.filter(user=by, deactivated_at__isnull=True).first()
    if membership is None:
        raise PermissionDenied("Not a member of this tenant.")
    require_permission(membership, permission)


def actor_scope_path(by: AbstractBaseUser | ApiKey | None) -> str:
    """The org subtree a person acts in (materialised-path prefix, "" = the whole tenant); API
    keys and system jobs act for the whole tenant. A person who is no active member of the
    current tenant is refused."""
    if not isinstance(by, AbstractBaseUser):
        return ""
    membership = (
        Membership.objects.filter(user=by, deactivated_at__isnull=True)
        .select_related("org_unit")
        .first()
    )
    if membership is None:
        raise PermissionDenied("Not a member of this tenant.")
    return membership.scope_path


def tenant_view(permission: str):
    """Decorate a view under /t/<tenant_slug>/: the middleware has set request.membership;
    this refuses roles without `permission` (403)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            require_permission(request.membership, permission)
            kwargs.pop("tenant_slug", None)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
