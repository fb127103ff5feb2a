"""A fixed-window request counter in the cache, for public endpoints that have no API key."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    # Behind a proxy the operator sets it to pass the client's address in REMOTE_ADDR.
    return request.META.get("REMOTE_ADDR", "unknown")


def rate_limit_exceeded(*, scope: str, key: str, limit: int, window_seconds: int = 60) -> bool:
    """Count one request for (scope, key); True once more than `limit` fell in this window."""
    bucket = int(time.time() // window_seconds)
    cache_key = f"ratelimit:{scope}:{key}:{bucket}"
    if cache.add(cache_key, 1, timeout=window_seconds + 1):
        return False
    try:
        return cache.incr(cache_key) > limit
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=window_seconds + 1)
        return False
