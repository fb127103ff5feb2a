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
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import redis
from django.conf import settings
from django.http import HttpRequest

T = TypeVar("T")
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


@dataclass(frozen=True)
class Limit:
    """At most `limit` requests per `window_seconds` for (scope, key)."""

    scope: str
    key: str
    limit: int
    window_seconds: int = 60


class _LocalCounts:
    """Per-process fixed-window counts, for when Redis cannot be had."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def count(self, windows: list[tuple[str, str, int]]) -> list[tuple[int, int]]:
        with self._lock:
            if len(self._counts) >= LOCAL_MAX_KEYS:
                self._counts.clear()
            counts = []
            for current, previous, _ttl in windows:
                self._counts[current] = self._counts.get(current, 0) + 1
                counts.append((self._counts[current], self._counts.get(previous, 0)))
            return counts


# For each (current, previous) pair of keys: INCR the current window (setting its expiry when
# it starts) and read the previous one; then read each token key asked for, setting a fresh
# token where there is none (tenant configuration versions: organizations.config_version).
# One command per request however many limits it counts, cheaper for the request's process
# than a pipeline. ARGV: the number of pairs, their expiries, a fresh token.
COUNT_SCRIPT = """
local windows = tonumber(ARGV[1])
local counts = {}
for i = 1, windows do
  local now = redis.call('INCR', KEYS[2 * i - 1])
  if now == 1 then redis.call('EXPIRE', KEYS[2 * i - 1], ARGV[i + 1]) end
  counts[#counts + 1] = now
  counts[#counts + 1] = tonumber(redis.call('GET', KEYS[2 * i])) or 0
end
for i = 2 * windows + 1, #KEYS do
  local token = redis.call('GET', KEYS[i])
  if not token then
    token = ARGV[windows + 2]
    redis.call('SET', KEYS[i], token)
  end
  counts[#counts + 1] = token
end
return counts
"""


class _RedisCounts:
    """Fixed-window counts in Redis: one round trip per request (a script: INCR, EXPIRE, GET
    for each limit)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self._count = self.client.register_script(COUNT_SCRIPT)
        self._down_until = 0.0

    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def mark_down(self) -> None:
        self._down_until = time.monotonic() + REDIS_RETRY_AFTER_SECONDS

    def count(
        self, windows: list[tuple[str, str, int]], token_keys: Sequence[str] = ()
    ) -> tuple[list[tuple[int, int]], list[str]]:
        keys = [key for current, previous, _ttl in windows for key in (current, previous)]
        args = [len(windows), *(ttl for _current, _previous, ttl in windows), uuid.uuid4().hex]
        flat = self._count(keys=[*keys, *token_keys], args=args)
        pairs = 2 * len(windows)
        counts = [(int(flat[i]), int(flat[i + 1])) for i in range(0, pairs, 2)]
        return counts, [token.decode() for token in flat[pairs:]]


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


def shared_redis_call(command: Callable[[redis.Redis], T]) -> T | None:
    """`command` run on the limiter's Redis; None without one, while it is marked down, or
    when it fails (then it is marked down for REDIS_RETRY_AFTER_SECONDS, so a Redis outage
    costs one timeout, not one per request)."""
    shared = _redis_counts()
    if shared is None or not shared.available():
        return None
    try:
        return command(shared.client)
    except redis.RedisError as error:
        shared.mark_down()
        logger.warning(
            "shared Redis is unreachable for %.0f s: %s", REDIS_RETRY_AFTER_SECONDS, error
        )
        return None


def shared_redis() -> redis.Redis | None:
    """The limiter's Redis client, or None without one (the embedded default)."""
    shared = _redis_counts()
    return shared.client if shared is not None else None


@dataclass(frozen=True)
class Counted:
    """What counting a request found: per limit, whether it is exceeded; and the token under
    each key asked for (empty when Redis did not answer)."""

    exceeded: list[bool]
    tokens: dict[str, str]


def rate_limits_count(limits: Sequence[Limit], *, token_keys: Sequence[str] = ()) -> Counted:
    """Count one request against each of `limits` (a sliding window: exceeded once more than
    its limit fell in its last window) and read the tokens under `token_keys` (a fresh one is
    set where a key has none), in one round trip. Never raises for want of Redis."""
    now = time.time()
    windows = []
    for limit in limits:
        window = int(now // limit.window_seconds)
        name = f"rl:{limit.scope}:{limit.key}"
        windows.append((f"{name}:{window}", f"{name}:{window - 1}", 2 * limit.window_seconds))
    counts, tokens = None, {}
    shared = _redis_counts()
    if shared is not None and shared.available():
        try:
            counts, found = shared.count(windows, token_keys)
            tokens = dict(zip(token_keys, found, strict=True))
        except redis.RedisError as error:
            shared.mark_down()
            logger.warning(
                "rate limits count per process for %.0f s: Redis is unreachable (%s)",
                REDIS_RETRY_AFTER_SECONDS,
                error,
            )
    if counts is None:
        counts = _local.count(windows)
    exceeded = []
    for limit, (in_window, in_previous) in zip(limits, counts, strict=True):
        overlap = 1.0 - (now % limit.window_seconds) / limit.window_seconds
        exceeded.append(in_window + in_previous * overlap > limit.limit)
    return Counted(exceeded, tokens)


def rate_limits_exceeded(limits: Sequence[Limit]) -> list[bool]:
    """Count one request against each of `limits`, in one round trip; for each, True once
    more than its limit fell in its last window (a sliding window). Never raises for want of
    Redis."""
    return rate_limits_count(limits).exceeded


def rate_limit_exceeded(*, scope: str, key: str, limit: int, window_seconds: int = 60) -> bool:
    """Count one request for (scope, key); True once more than `limit` fell in the last
    `window_seconds` (a sliding window). Never raises for want of Redis."""
    return rate_limits_exceeded([Limit(scope, key, limit, window_seconds)])[0]
