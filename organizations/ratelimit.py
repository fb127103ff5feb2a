"""Request limits for public endpoints: a sliding-window counter in Redis that never refuses
a request because Redis is down.

The window slides: the count of the previous fixed window is weighted by how much of it
still overlaps the last `window_seconds`, so a burst across a window boundary cannot pass
twice the limit. With Redis unreachable (or no REDIS_URL, the embedded default) each process
counts for itself: limits get looser by the number of processes, never closed.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.conf import settings
from django.http import HttpRequest

logger = logging.getLogger(__name__)

# After a failed Redis call, count locally for this long before trying Redis again, so an
# outage costs one timeout per process every few seconds, not one per request.
REDIS_RETRY_AFTER_SECONDS = 5.0
REDIS_TIMEOUT_SECONDS = 0.25
LOCAL_MAX_KEYS = 50_000


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or with N trusted proxies in front, the address
    the outermost of them saw (the Nth entry from the right of X-Forwarded-For)."""
    proxies = settings.CEM_TRUSTED_PROXY_COUNT
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if proxies and len(forwarded) >= proxies and forwarded[-proxies]:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "unknown")


class _LocalCounts:
    """Per-process fixed-window counts, for when Redis cannot be had."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def count(self, current: str, previous: str) -> tuple[int, int]:
        with self._lock:
            if len(self._counts) >= LOCAL_MAX_KEYS:
                self._counts.clear()
            self._counts[current] = self._counts.get(current, 0) + 1
            return self._counts[current], self._counts.get(previous, 0)


# INCR the current window (setting its expiry when it starts), read the previous one: one
# command per request, cheaper for the request's process than a pipeline of three.
COUNT_SCRIPT = """
local now = redis.call('INCR', KEYS[1])
if now == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {now, tonumber(redis.call('GET', KEYS[2])) or 0}
"""


class _RedisCounts:
    """Fixed-window counts in Redis: one round trip per request (a script: INCR, EXPIRE, GET)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self._count = self._client.register_script(COUNT_SCRIPT)
        self._down_until = 0.0

    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def mark_down(self) -> None:
        self._down_until = time.monotonic() + REDIS_RETRY_AFTER_SECONDS

    def count(self, current: str, previous: str, ttl: int) -> tuple[int, int]:
        now_count, before = self._count(keys=[current, previous], args=[ttl])
        return int(now_count), int(before)


_local = _LocalCounts()
_redis: _RedisCounts | None = None


def _redis_counts() -> _RedisCounts | None:
    global _redis
    url = settings.CEM_RATELIMIT_REDIS_URL
    if not url:
        return None
    if _redis is None or _redis.url != url:
        _redis = _RedisCounts(url)
    return _redis


def rate_limit_exceeded(*, scope: str, key: str, limit: int, window_seconds: int = 60) -> bool:
    """Count one request for (scope, key); True once more than `limit` fell in the last
    `window_seconds` (a sliding window). Never raises for want of Redis."""
    now = time.time()
    window = int(now // window_seconds)
    current = f"rl:{scope}:{key}:{window}"
    previous = f"rl:{scope}:{key}:{window - 1}"
    counts = None
    shared = _redis_counts()
    if shared is not None and shared.available():
        try:
            counts = shared.count(current, previous, ttl=2 * window_seconds)
        except redis.RedisError as error:
            shared.mark_down()
            logger.warning(
                "rate limits count per process for %.0f s: Redis is unreachable (%s)",
                REDIS_RETRY_AFTER_SECONDS,
                error,
            )
    if counts is None:
        counts = _local.count(current, previous)
    in_window, in_previous = counts
    overlap = 1.0 - (now % window_seconds) / window_seconds
    return in_window + in_previous * overlap > limit
