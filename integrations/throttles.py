"""API request limits on the platform's own limiter: per client address before the key is
looked at, then per key once it is known.

DRF authenticates before it throttles, so a throttle in DEFAULT_THROTTLE_CLASSES never sees a
request whose key fails: ApiKeyAuthentication calls `client_address_throttle_check` first.
Rates are "N/second|minute|hour|day" in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].
"""

from __future__ import annotations

from rest_framework.exceptions import Throttled
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from organizations.ratelimit import client_address, rate_limit_exceeded

PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'600/minute' -> (600, 60)."""
    count, _, period = rate.partition("/")
    return int(count), PERIOD_SECONDS[period.strip()[:1]]


class PlatformRateThrottle(BaseThrottle):
    """A DRF throttle counting on organizations.ratelimit under `scope`, keyed by `get_key`."""

    scope = ""

    def __init__(self) -> None:
        self.limit, self.window_seconds = parse_rate(
            api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        )

    def get_key(self, request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        key = self.get_key(request)
        if key is None:
            return True
        return not rate_limit_exceeded(
            scope=self.scope, key=key, limit=self.limit, window_seconds=self.window_seconds
        )

    def wait(self) -> float:
        # The limiter does not say when its window frees a slot; a whole window is safe.
        return float(self.window_seconds)


class ClientAddressThrottle(PlatformRateThrottle):
    """Every API request per client address, counted before the key is checked."""

    scope = "api_address"

    def get_key(self, request) -> str:
        return client_address(request)


class ApiKeyThrottle(PlatformRateThrottle):
    """Requests per authenticated key."""

    scope = "api_key"

    def get_key(self, request) -> str | None:
        api_key = getattr(request, "auth", None)
        return api_key.prefix if api_key is not None else None


def client_address_throttle_check(request) -> None:
    """Raise Throttled (429 with Retry-After) when the client's address is over its rate."""
    throttle = ClientAddressThrottle()
    if not throttle.allow_request(request, None):
        raise Throttled(wait=throttle.wait())
