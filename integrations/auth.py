"""Partner authentication: a per-tenant API key in `Authorization: Api-Key <key>`.

A valid key sets the current tenant for the request; everything the API reads or writes is
then scoped to that tenant by the default managers. The request is counted against the client
address's rate before the key is looked up, so missing and bad keys are throttled too.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from integrations.throttles import api_limits_count
from organizations.config_version import SeenVersion
from organizations.models import ApiKey
from organizations.selectors import api_key_by_prefix, api_key_tenant_kept
from organizations.services import API_KEY_PREFIX, api_key_hash
from organizations.tenancy import tenant_activate

LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiClient:
    """The request.user of an API call: the key's tenant acting through the key."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, api_key: ApiKey, seen: SeenVersion | None = None):
        self.api_key = api_key
        self.tenant = api_key.tenant
        # The tenant's configuration version as this request read it, before any row: what
        # the process kept under it may be used (organizations.config_version).
        self.seen_version = seen

    def __str__(self) -> str:
        return f"api-key:{self.api_key.prefix}"


def api_key_parse(raw: str) -> tuple[str, str] | None:
    if not raw.startswith(API_KEY_PREFIX):
        return None
    prefix, _, secret = raw[len(API_KEY_PREFIX) :].partition("_")
    return (prefix, secret) if prefix and secret else None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        scheme, _, raw = header.partition(" ")
        if scheme != self.keyword:
            raw = request.headers.get("X-Api-Key", "")
        raw = raw.strip()
        parts = api_key_parse(raw) if raw else None
        prefix = parts[0] if parts else None
        seen = api_limits_count(request, raw, tenant_id=api_key_tenant_kept(prefix))
        if not raw:
            return None
        if parts is None:
            raise exceptions.AuthenticationFailed("Malformed API key.")
        api_key = api_key_by_prefix(prefix, seen=seen)
        if (
            api_key is None
            or not hmac.compare_digest(api_key.secret_hash, api_key_hash(parts[1]))
            or api_key.revoked_at is not None
            or not api_key.tenant.is_active
        ):
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        now = timezone.now()
        tenant_activate(api_key.tenant)
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now  # the process may keep this key: it knows it wrote
        return ApiClient(api_key, seen), api_key

    def authenticate_header(self, request) -> str:
        return self.keyword


class HasTenantApiKey(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, ApiClient)
