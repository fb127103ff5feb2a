"""What the platform depends on, each checked quickly: the database, Redis and the broker."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection

from cem.celery import app

CHECK_TIMEOUT_SECONDS = 0.5


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _redis() -> str:
    if not settings.REDIS_URL:
        return "not used"  # the embedded default: in-process cache and limits
    redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=CHECK_TIMEOUT_SECONDS,
        socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
    ).ping()
    return "ok"


def _broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "not used"  # tasks run in-process
    with app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=0, timeout=CHECK_TIMEOUT_SECONDS)
    return "ok"


def dependency_checks() -> dict[str, str]:
    """Each dependency's state: "ok", "not used", or "down: <why>"."""
    checks = {}
    for name, check in (("database", _database), ("redis", _redis), ("broker", _broker)):
        try:
            checks[name] = check()
        except Exception as error:
            checks[name] = f"down: {type(error).__name__}"
    return checks
