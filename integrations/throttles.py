"""API request limits on the platform's own limiter: per client address, and per key.

DRF authenticates before it throttles, so a throttle in DEFAULT_THROTTLE_CLASSES never sees a
request whose key fails. ApiKeyAuthentication therefore calls `api_limits_count` before it
looks the key up: one round trip counts the request against its client address and, when it
presents a key, against that key; it also reads the configuration version of the key's tenant,
under which the process may use the key and the survey it kept (organizations.config_version).
The key is named by a digest of the whole key, so only its holder can use up its limit. An
address over its rate is refused at once; a key over its rate is refused by ApiKeyThrottle once
the key has proved valid.
Rates are "N/second|minute|hour|day" in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].
"""

from __future__ import annotations

import hashlib

from rest_framework.exceptions import Throttled
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from organizations.config_version import SeenVersion, rate_limits_count_seeing
from organizations.ratelimit import Limit, client_address

PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
ADDRESS_SCOPE = "api_address"
KEY_SCOPE = "api_key"
KEY_OVER_LIMIT = "cem_api_key_over_limit"  # set on the request by api_limits_count


def parse_rate(rate: str) -> tuple[int, int]:
    """'600/minute' -> (600, 60)."""
    count, _, period = rate.partition("/")
    return int(count), PERIOD_SECONDS[period.strip()[:1]]


def _limit(scope: str, key: str) -> Limit:
    count, window_seconds = parse_rate(api_settings.DEFAULT_THROTTLE_RATES[scope])
    return Limit(scope, key, count, window_seconds)


def api_limits_count(
    request, presented_key: str, *, tenant_id: int | None = None
) -> SeenVersion | None:
    """Count the request against its client address and the key it presents (if any), before
    the key is checked, reading the configuration version of `tenant_id` (the tenant the key
    was last seen to name) in the same round trip. Raise Throttled (429 with Retry-After) when
    the address is over its rate; note on the request whether the key is, for ApiKeyThrottle.
    """
    limits = [_limit(ADDRESS_SCOPE, client_address(request))]
    if presented_key:
        digest = hashlib.sha256(presented_key.encode()).hexdigest()[:32]
        limits.append(_limit(KEY_SCOPE, digest))
    (address_over, *key_over), seen = rate_limits_count_seeing(limits, tenant_id=tenant_id)
    if address_over:
        raise Throttled(wait=limits[0].window_seconds)
    setattr(request, KEY_OVER_LIMIT, any(key_over))
    return seen


class ApiKeyThrottle(BaseThrottle):
    """Requests per valid key, as api_limits_count counted them."""

    def allow_request(self, request, view) -> bool:
        return not getattr(request, KEY_OVER_LIMIT, False)

    def wait(self) -> float:
        # The limiter does not say when its window frees a slot; a whole window is safe.
        return float(parse_rate(api_settings.DEFAULT_THROTTLE_RATES[KEY_SCOPE])[1])
