"""The one way request code hands the broker work: a publish that never retries and a breaker
that skips the broker for a moment after it failed. Tasks go to the project's Celery app (the
one their @shared_task binds to), so this module needs no import of it."""

from __future__ import annotations

import logging
import time

logger = logging.getLogger(__name__)

# After a failed publish, skip the broker for this long: during an outage a request pays for
# at most one failed attempt per process every few seconds, and the sweepers catch up later.
BROKER_RETRY_AFTER_SECONDS = 5.0
_broker_down_until = 0.0


def publish(task, *args) -> bool:
    """Enqueue `task(*args)` without retrying: the caller's data is already committed and a
    sweeper enqueues whatever this could not. Returns False (and logs) when the broker failed."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        logger.warning("broker marked down; %s%r left for the sweeper", task.name, args)
        return False
    try:
        task.apply_async(args=args, retry=False)
    except Exception:
        _broker_down_until = time.monotonic() + BROKER_RETRY_AFTER_SECONDS
        logger.exception("could not enqueue %s%r; the sweeper will", task.name, args)
        return False
    return True
