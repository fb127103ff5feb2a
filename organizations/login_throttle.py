"""Login throttling on django-axes: lockout per account and per client address with a cool-off
that doubles, the lockout page, and failed logins and lockouts in the tenants' audit logs.

An account is locked after `CEM_LOGIN_FAILURE_LIMIT` failed logins, an address after
`CEM_LOGIN_ADDRESS_FAILURE_LIMIT` (higher: a branch's staff share one address behind NAT).
Every further failure, also the right password during a lockout, fails and extends it. The
first lockout lasts `CEM_LOGIN_COOLOFF_MINUTES`; each limit's worth of failures in the last
day doubles it, up to a day.
"""

from __future__ import annotations

import ipaddress
import math
from datetime import timedelta

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttemptExpiration, AccessFailureLog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Max, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from organizations.models import Membership
from organizations.ratelimit import client_address
from organizations.services import audit_record
from organizations.tenancy import system_context, tenant_context

GROWTH_WINDOW = timedelta(days=1)
LONGEST_COOL_OFF = timedelta(days=1)


def login_address(request: HttpRequest) -> str | None:
    """The client address as rate limits see it, or None when it is not an IP address (axes
    stores it in an inet column)."""
    address = client_address(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def strikes(*, account_failures: int, address_failures: int) -> int:
    """Failures counted against the account limit; an address's count the same way, scaled to
    its own, higher limit."""
    scale = settings.AXES_FAILURE_LIMIT / settings.CEM_LOGIN_ADDRESS_FAILURE_LIMIT
    return max(account_failures, math.floor(address_failures * scale))


def login_cool_off(request: HttpRequest | None = None) -> timedelta:
    """How long a lockout of this request's account or address lasts after its last failure:
    the base, doubled for every limit's worth of failures in the last day beyond the first."""
    base = timedelta(minutes=settings.CEM_LOGIN_COOLOFF_MINUTES)
    if request is None:
        return base
    recent = AccessFailureLog.objects.filter(attempt_time__gte=timezone.now() - GROWTH_WINDOW)
    username = get_client_username(request, getattr(request, "axes_credentials", None))
    address = getattr(request, "axes_ip_address", None)
    # A failing login sets its lock before axes logs it: count it here already.
    failing = int(getattr(request, "cem_failure_unlogged", False))
    counted = strikes(
        account_failures=failing + (recent.filter(username=username).count() if username else 0),
        address_failures=failing + (recent.filter(ip_address=address).count() if address else 0),
    )
    doublings = min(max(counted // settings.AXES_FAILURE_LIMIT - 1, 0), 20)  # 2**20 min > a day
    return min(base * 2**doublings, LONGEST_COOL_OFF)


def locked_minutes(request: HttpRequest, credentials: dict | None = None) -> int:
    """Minutes until the failures counted against this request's account and address expire,
    which is when its lock ends at the latest."""
    username = get_client_username(request, credentials)
    address = getattr(request, "axes_ip_address", None)
    until = (
        AccessAttemptExpiration.objects.filter(
            Q(access_attempt__username=username) | Q(access_attempt__ip_address=address)
        )
        .aggregate(Max("expires_at"))
        .get("expires_at__max")
    )
    remaining = (until - timezone.now()) if until else login_cool_off(request)
    return max(math.ceil(remaining.total_seconds() / 60), 1)


class LoginThrottleHandler(AxesDatabaseHandler):
    """axes' database handler with a separate, higher limit per address than per account."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        by_account, by_address = (
            sum(attempts.values_list("failures_since_start", flat=True))
            for attempts in self.get_user_attempts(request, credentials)
        )  # in the order of AXES_LOCKOUT_PARAMETERS
        return strikes(account_failures=by_account, address_failures=by_address)

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        if request is None:
            return super().user_login_failed(sender, credentials, request, **kwargs)
        request.cem_failure_unlogged = True
        try:
            return super().user_login_failed(sender, credentials, request, **kwargs)
        finally:
            request.cem_failure_unlogged = False


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuses a login form's authentication while its account or address is locked out.

    authenticate() without a request comes from code (the shell, the test client's login()),
    never from a login form, and has no address to count: it passes through, where axes'
    own backend would raise. The login page and the admin always pass their request.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def lockout_page(request: HttpRequest, response: HttpResponse | None, credentials) -> HttpResponse:
    """The login page again, status 429, saying the login is locked and for how long."""
    minutes = locked_minutes(request, credentials)
    username = get_client_username(request, credentials) or ""
    form = AuthenticationForm(request, initial={"username": username})
    return render(
        request,
        "registration/login.html",
        {"form": form, "locked_minutes": minutes, "next": request.POST.get("next", "")},
        status=429,
    )


def login_failure_audit(sender, credentials: dict, request: HttpRequest | None = None, **kwargs):
    """Record a failed login, or a login refused by a lockout, in the audit log of every tenant
    the account belongs to. Failures for unknown usernames stay in axes' failure log only:
    they belong to no tenant. Runs after axes' own receiver (apps order), which marks the
    request locked out and counts its failures."""
    if request is None:
        return
    username = get_client_username(request, credentials)
    user = get_user_model().objects.filter(username=username).first() if username else None
    if user is None:
        return
    locked = bool(getattr(request, "axes_locked_out", False))
    details = {
        "address": getattr(request, "axes_ip_address", None),
        "failures": getattr(request, "axes_failures_since_start", None),
        "locked_minutes": locked_minutes(request, credentials) if locked else None,
    }
    with system_context():  # the account names its tenants
        memberships = list(Membership.all_tenants.filter(user=user).select_related("tenant"))
    for membership in memberships:
        with tenant_context(membership.tenant):
            audit_record(
                by=None,
                action="auth.login_locked_out" if locked else "auth.login_failed",
                target=user,
                after=details,
            )
