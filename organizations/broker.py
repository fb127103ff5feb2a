"""The one way request code hands the broker work: a publish that never retries and a breaker
that skips the broker for a moment after it failed, and small items handed over in batches.
Tasks go to the project's Celery app (the one their @shared_task binds to), so this module
needs no import of it."""

from __future__ import annotations

import logging
import time

import redis
from celery import current_app

logger = logging.getLogger(__name__)

# After a failed publish, skip the broker for this long: during an outage a request pays for
# at most one failed attempt per process every few seconds, and the sweepers catch up later.
BROKER_RETRY_AFTER_SECONDS = 5.0
_broker_down_until = 0.0


def _broker_marked_down(what: str) -> bool:
    if time.monotonic() < _broker_down_until:
        logger.warning("broker marked down; %s left for the sweeper", what)
        return True
    return False


def _broker_failed(what: str) -> bool:
    global _broker_down_until
    _broker_down_until = time.monotonic() + BROKER_RETRY_AFTER_SECONDS
    logger.exception("could not enqueue %s; the sweeper will", what)
    return False


def publish(task, *args) -> bool:
    """Enqueue `task(*args)` without retrying: the caller's data is already committed and a
    sweeper enqueues whatever this could not. Returns False (and logs) when the broker failed."""
    if _broker_marked_down(f"{task.name}{args!r}"):
        return False
    try:
        task.apply_async(args=args, retry=False)
    except Exception:
        return _broker_failed(f"{task.name}{args!r}")
    return True


# ---- Work handed over in batches: one list per task in the broker's Redis.
#
# A request that hands a worker one small item (score response 42) spends more on building a
# Celery message than on anything else it does. `publish_batched` appends the item to the
# task's list instead (one round trip) and publishes the task only when the list was empty;
# the task takes up to a batch with `take_batch`, and publishes itself once more when it left
# items behind, so several workers share a backlog. Whenever the list holds items, a task to
# take them has been published since it last was empty. Items taken by a worker that dies are
# not retried from the list: they stay unprocessed in the database, where the sweepers find
# them (they must, as for any broker outage).
BATCH_KEY_PREFIX = "cem:batched:"
_batch_redis: tuple[str, redis.Redis] | None = None


def _batch_client() -> redis.Redis | None:
    """A client of the Redis the Celery app uses as its broker (every shared task binds to the
    current app); None where tasks run in-process or the broker is not Redis. The settings
    are read from the app, not through a task's proxy, which was a measurable share of a
    submission."""
    global _batch_redis
    conf = current_app.conf
    url = conf.broker_url
    if conf.task_always_eager or not url.startswith("redis"):
        return None
    if _batch_redis is None or _batch_redis[0] != url:
        _batch_redis = (url, redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2))
    return _batch_redis[1]


def _batch_key(task) -> str:
    return BATCH_KEY_PREFIX + task.name


def publish_batched(task, item: int) -> bool:
    """Hand `item` to `task`, which takes its items with take_batch; see above. Without a
    Redis broker (tasks run in-process) it is publish(task, [item]). False (logged) when the
    broker failed."""
    client = _batch_client()
    if client is None:
        return publish(task, [item])
    what = f"{task.name}[{item}]"
    if _broker_marked_down(what):
        return False
    try:
        waiting = client.rpush(_batch_key(task), item)
    except redis.RedisError:
        return _broker_failed(what)
    return publish(task) if waiting == 1 else True


def take_batch(task, size: int) -> list[int]:
    """Up to `size` items handed to `task`, oldest first; publishes `task` again when more
    are waiting, for another worker to take."""
    client = _batch_client()
    if client is None:
        return []
    with client.pipeline() as pipe:  # MULTI: nothing is pushed between the two
        taken, left = pipe.lpop(_batch_key(task), size).llen(_batch_key(task)).execute()
    if left:
        publish(task)
    return [int(item) for item in taken or []]


def batch_waiting(task) -> int:
    """How many items wait for `task` (0 without a Redis broker)."""
    client = _batch_client()
    if client is None:
        return 0
    try:
        return client.llen(_batch_key(task))
    except redis.RedisError:
        logger.exception("could not read what waits for %s", task.name)
        return 0
